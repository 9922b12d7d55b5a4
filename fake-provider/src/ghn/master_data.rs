//! A small fixed slice of GHN's master data (ids in GHN's style), enough for realistic routes:
//! three provinces, two districts each, two wards per district.

pub struct Province {
    pub id: i64,
    pub name: &'static str,
    pub code: &'static str,
}

pub struct District {
    pub id: i64,
    pub province_id: i64,
    pub name: &'static str,
    pub code: &'static str,
}

pub struct Ward {
    pub code: &'static str,
    pub district_id: i64,
    pub name: &'static str,
}

pub const HA_NOI: i64 = 201;
pub const HO_CHI_MINH: i64 = 202;
pub const DA_NANG: i64 = 203;

/// The shop's own district and ward: the pick-up point when a call names none.
pub const SHOP_DISTRICT_ID: i64 = 1442;
pub const SHOP_WARD_CODE: &str = "20101";

pub const PROVINCES: &[Province] = &[
    Province {
        id: HA_NOI,
        name: "Hà Nội",
        code: "4",
    },
    Province {
        id: HO_CHI_MINH,
        name: "Hồ Chí Minh",
        code: "8",
    },
    Province {
        id: DA_NANG,
        name: "Đà Nẵng",
        code: "511",
    },
];

pub const DISTRICTS: &[District] = &[
    District {
        id: 1442,
        province_id: HO_CHI_MINH,
        name: "Quận 1",
        code: "0201",
    },
    District {
        id: 1461,
        province_id: HO_CHI_MINH,
        name: "Quận Gò Vấp",
        code: "0212",
    },
    District {
        id: 1485,
        province_id: HA_NOI,
        name: "Quận Ba Đình",
        code: "0101",
    },
    District {
        id: 1493,
        province_id: HA_NOI,
        name: "Quận Thanh Xuân",
        code: "0109",
    },
    District {
        id: 1526,
        province_id: DA_NANG,
        name: "Quận Hải Châu",
        code: "0301",
    },
    District {
        id: 1527,
        province_id: DA_NANG,
        name: "Quận Thanh Khê",
        code: "0302",
    },
];

pub const WARDS: &[Ward] = &[
    Ward {
        code: "20101",
        district_id: 1442,
        name: "Phường Bến Nghé",
    },
    Ward {
        code: "20109",
        district_id: 1442,
        name: "Phường Nguyễn Thái Bình",
    },
    Ward {
        code: "21302",
        district_id: 1461,
        name: "Phường 11",
    },
    Ward {
        code: "21310",
        district_id: 1461,
        name: "Phường 5",
    },
    Ward {
        code: "1A0101",
        district_id: 1485,
        name: "Phường Phúc Xá",
    },
    Ward {
        code: "1A0111",
        district_id: 1485,
        name: "Phường Kim Mã",
    },
    Ward {
        code: "1A0701",
        district_id: 1493,
        name: "Phường Thanh Xuân Bắc",
    },
    Ward {
        code: "1A0710",
        district_id: 1493,
        name: "Phường Nhân Chính",
    },
    Ward {
        code: "40101",
        district_id: 1526,
        name: "Phường Hải Châu I",
    },
    Ward {
        code: "40105",
        district_id: 1526,
        name: "Phường Thạch Thang",
    },
    Ward {
        code: "40201",
        district_id: 1527,
        name: "Phường Tam Thuận",
    },
    Ward {
        code: "40207",
        district_id: 1527,
        name: "Phường Xuân Hà",
    },
];

pub fn district(id: i64) -> Option<&'static District> {
    DISTRICTS.iter().find(|d| d.id == id)
}

pub fn ward_in_district(code: &str, district_id: i64) -> bool {
    WARDS
        .iter()
        .any(|w| w.code == code && w.district_id == district_id)
}
