//! GHN's business rules beyond field presence and types: services, routes, parcel limits,
//! phone numbers.

use super::body::{Body, GhnError};
use super::{fee, master_data, SERVICES};

/// Either a service id GHN knows or a service type (2 light, 5 heavy).
pub(crate) fn check_service(b: &Body, request: &str) -> Result<(), GhnError> {
    match (b.int("service_id"), b.int("service_type_id")) {
        (None, None) => Err(GhnError::bad_request(
            format!("Key: '{request}.ServiceTypeID' Error:Field validation for 'ServiceTypeID' failed on the 'required_without' tag"),
            "USER_ERR_COMMON",
        )),
        (_, Some(t)) if t != 2 && t != 5 => Err(GhnError::bad_request(
            "Mã loại dịch vụ (service_type_id) không hợp lệ",
            "USER_ERR_COMMON",
        )),
        (Some(id), None) if !SERVICES.iter().any(|s| s.0 == id) => Err(GhnError::bad_request(
            "Không tìm thấy dịch vụ (service_id)",
            "SERVICE_NOT_FOUND_CONFIG_FEE",
        )),
        _ => Ok(()),
    }
}

pub(crate) fn check_route(
    from: Option<i64>,
    from_ward: Option<&str>,
    to: Option<i64>,
    to_ward: Option<&str>,
) -> Result<(), GhnError> {
    for (district, ward) in [(from, from_ward), (to, to_ward)] {
        let district = district.unwrap_or(0);
        if master_data::district(district).is_none() {
            return Err(GhnError::bad_request(
                format!("Không tìm thấy tuyến cho quận/huyện {district}"),
                "ROUTE_NOT_FOUND_SERVICE",
            ));
        }
        if let Some(w) = ward {
            if !master_data::ward_in_district(w, district) {
                return Err(GhnError::bad_request(
                    format!("Phường/Xã {w} không thuộc quận/huyện {district}"),
                    "WARD_IS_INVALID",
                ));
            }
        }
    }
    Ok(())
}

pub(crate) fn parcel(b: &Body, from_district_id: i64) -> Result<fee::Parcel, GhnError> {
    let weight = b.int("weight").unwrap_or(0);
    if !(1..=1_600_000).contains(&weight) {
        return Err(GhnError::bad_request(
            "Cân nặng không hợp lệ",
            "USER_ERR_COMMON",
        ));
    }
    let dims = [b.int("length"), b.int("width"), b.int("height")].map(|d| d.unwrap_or(0));
    if dims.iter().any(|d| !(0..=200).contains(d)) {
        return Err(GhnError::bad_request(
            "Kích thước không hợp lệ",
            "USER_ERR_COMMON",
        ));
    }
    let insurance_value = b.int("insurance_value").unwrap_or(0);
    if !(0..=5_000_000).contains(&insurance_value) {
        return Err(GhnError::bad_request(
            "Giá trị khai giá (insurance_value) tối đa 5.000.000",
            "USER_ERR_COMMON",
        ));
    }
    Ok(fee::Parcel {
        from_district_id,
        to_district_id: b.int("to_district_id").unwrap_or(0),
        weight,
        length: dims[0],
        width: dims[1],
        height: dims[2],
        insurance_value,
    })
}

/// A Vietnamese number: 0 or +84 then 9–10 digits.
pub(crate) fn valid_phone(p: &str) -> bool {
    p.strip_prefix("+84")
        .or_else(|| p.strip_prefix('0'))
        .is_some_and(|r| (9..=10).contains(&r.len()) && r.bytes().all(|b| b.is_ascii_digit()))
}
