//! The fake's deterministic fee table, so tests can assert exact amounts (VND):
//!
//! - chargeable weight = max(weight, length × width × height / 5) grams (GHN's converted weight);
//! - service fee = 15 000 + 200 per started 100 g of chargeable weight,
//!   plus 10 000 when the route crosses provinces;
//! - insurance fee = 0.5 % of the insurance value (rounded down);
//! - total = service fee + insurance fee (no coupons, station or COD fees).
//!
//! Example: 1 000 g inside Hồ Chí Minh, insured for 1 000 000 → 17 000 + 5 000 = 22 000.

use super::master_data;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quote {
    pub service_fee: i64,
    pub insurance_fee: i64,
    pub total: i64,
}

pub struct Parcel {
    pub from_district_id: i64,
    pub to_district_id: i64,
    pub weight: i64,
    pub length: i64,
    pub width: i64,
    pub height: i64,
    pub insurance_value: i64,
}

pub fn converted_weight(p: &Parcel) -> i64 {
    p.weight.max(p.length * p.width * p.height / 5)
}

pub fn quote(p: &Parcel) -> Quote {
    let province = |id| master_data::district(id).map(|d| d.province_id);
    let inter_province = province(p.from_district_id) != province(p.to_district_id);
    let service_fee =
        15_000 + 200 * ((converted_weight(p) + 99) / 100) + if inter_province { 10_000 } else { 0 };
    let insurance_fee = p.insurance_value * 5 / 1000;
    Quote {
        service_fee,
        insurance_fee,
        total: service_fee + insurance_fee,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parcel(to: i64, weight: i64, insurance_value: i64) -> Parcel {
        Parcel {
            from_district_id: master_data::SHOP_DISTRICT_ID,
            to_district_id: to,
            weight,
            length: 0,
            width: 0,
            height: 0,
            insurance_value,
        }
    }

    #[test]
    fn documented_example_holds() {
        let q = quote(&parcel(1461, 1000, 1_000_000));
        assert_eq!(
            (q.service_fee, q.insurance_fee, q.total),
            (17_000, 5_000, 22_000)
        );
    }

    #[test]
    fn crossing_provinces_and_volume_raise_the_fee() {
        assert_eq!(quote(&parcel(1493, 1000, 0)).total, 27_000);
        let bulky = Parcel {
            length: 50,
            width: 40,
            height: 30,
            ..parcel(1461, 1000, 0)
        };
        // 50×40×30/5 = 12 000 g chargeable.
        assert_eq!(quote(&bulky).service_fee, 15_000 + 200 * 120);
    }
}
