//! Extractors whose rejections use the API's error format and name the failing field.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use integrations_core::{Error, ErrorKind};
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// JSON body; unknown fields are rejected by the DTOs' `deny_unknown_fields`.
pub struct Body<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(Self(v)),
            Err(JsonRejection::BytesRejection(e)) if e.status().as_u16() == 413 => Err(ApiError(
                Error::new(ErrorKind::PayloadTooLarge, "request body too large"),
            )),
            Err(JsonRejection::MissingJsonContentType(_)) => Err(ApiError(Error::validation(
                "expected Content-Type: application/json",
            ))),
            Err(JsonRejection::JsonDataError(e)) => Err(ApiError(Error::validation(format!(
                "body: {}",
                e.body_text()
            )))),
            Err(e) => Err(ApiError(Error::validation(format!(
                "body: {}",
                e.body_text()
            )))),
        }
    }
}

/// Path parameters. Axum's own rejection (a percent-escape that is not UTF-8, such as
/// `/connections/%FF`) is plain text; this one is the error envelope like every other 4xx.
pub struct Path<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for Path<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(v)| Self(v))
            .map_err(|e: PathRejection| {
                ApiError(Error::validation(format!("path: {}", e.body_text())))
            })
    }
}

pub struct Query<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(v)| Self(v))
            .map_err(|e: QueryRejection| {
                ApiError(Error::validation(format!("query: {}", e.body_text())))
            })
    }
}
