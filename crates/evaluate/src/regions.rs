//! The provincial-level divisions of China (省级行政区) and the names they go by in data files:
//! ISO 3166-2 codes (`CN-JS`, as CEADs writes them), six-digit division codes (`320000`, as the
//! boundary files key them), full and short Chinese names (`江苏省`, `江苏`, as the National
//! Bureau of Statistics writes them) and English names.
//!
//! Panels from different sources join on [`Province::iso`]; a region name that is no province is
//! kept as written (a city or a park can be evaluated too; it is simply not on the map).

use serde::Serialize;

/// The four macro-regions (四大板块) of the national statistics.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MacroRegion {
    /// 东部
    East,
    /// 中部
    Centre,
    /// 西部
    West,
    /// 东北
    Northeast,
    /// 港澳台 (not in the four macro-regions)
    Other,
}

impl MacroRegion {
    /// Chinese name.
    pub fn zh(self) -> &'static str {
        match self {
            MacroRegion::East => "东部",
            MacroRegion::Centre => "中部",
            MacroRegion::West => "西部",
            MacroRegion::Northeast => "东北",
            MacroRegion::Other => "港澳台",
        }
    }

    /// English name.
    pub fn en(self) -> &'static str {
        match self {
            MacroRegion::East => "East",
            MacroRegion::Centre => "Centre",
            MacroRegion::West => "West",
            MacroRegion::Northeast => "Northeast",
            MacroRegion::Other => "HK/Macao/Taiwan",
        }
    }
}

/// One provincial-level division.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Province {
    /// ISO 3166-2 code, e.g. `CN-JS`.
    pub iso: &'static str,
    /// Administrative division code, e.g. `320000`.
    pub adcode: &'static str,
    /// Full Chinese name, e.g. `江苏省`.
    pub zh: &'static str,
    /// Short Chinese name, e.g. `江苏`.
    pub short: &'static str,
    /// English name, e.g. `Jiangsu`.
    pub en: &'static str,
    /// Macro-region (四大板块).
    pub macro_region: MacroRegion,
}

macro_rules! p {
    ($iso:literal, $ad:literal, $zh:literal, $short:literal, $en:literal, $m:ident) => {
        Province {
            iso: $iso,
            adcode: $ad,
            zh: $zh,
            short: $short,
            en: $en,
            macro_region: MacroRegion::$m,
        }
    };
}

/// All 34 provincial-level divisions, in division-code order.
pub const PROVINCES: [Province; 34] = [
    p!("CN-BJ", "110000", "北京市", "北京", "Beijing", East),
    p!("CN-TJ", "120000", "天津市", "天津", "Tianjin", East),
    p!("CN-HE", "130000", "河北省", "河北", "Hebei", East),
    p!("CN-SX", "140000", "山西省", "山西", "Shanxi", Centre),
    p!(
        "CN-NM",
        "150000",
        "内蒙古自治区",
        "内蒙古",
        "Inner Mongolia",
        West
    ),
    p!("CN-LN", "210000", "辽宁省", "辽宁", "Liaoning", Northeast),
    p!("CN-JL", "220000", "吉林省", "吉林", "Jilin", Northeast),
    p!(
        "CN-HL",
        "230000",
        "黑龙江省",
        "黑龙江",
        "Heilongjiang",
        Northeast
    ),
    p!("CN-SH", "310000", "上海市", "上海", "Shanghai", East),
    p!("CN-JS", "320000", "江苏省", "江苏", "Jiangsu", East),
    p!("CN-ZJ", "330000", "浙江省", "浙江", "Zhejiang", East),
    p!("CN-AH", "340000", "安徽省", "安徽", "Anhui", Centre),
    p!("CN-FJ", "350000", "福建省", "福建", "Fujian", East),
    p!("CN-JX", "360000", "江西省", "江西", "Jiangxi", Centre),
    p!("CN-SD", "370000", "山东省", "山东", "Shandong", East),
    p!("CN-HA", "410000", "河南省", "河南", "Henan", Centre),
    p!("CN-HB", "420000", "湖北省", "湖北", "Hubei", Centre),
    p!("CN-HN", "430000", "湖南省", "湖南", "Hunan", Centre),
    p!("CN-GD", "440000", "广东省", "广东", "Guangdong", East),
    p!("CN-GX", "450000", "广西壮族自治区", "广西", "Guangxi", West),
    p!("CN-HI", "460000", "海南省", "海南", "Hainan", East),
    p!("CN-CQ", "500000", "重庆市", "重庆", "Chongqing", West),
    p!("CN-SC", "510000", "四川省", "四川", "Sichuan", West),
    p!("CN-GZ", "520000", "贵州省", "贵州", "Guizhou", West),
    p!("CN-YN", "530000", "云南省", "云南", "Yunnan", West),
    p!("CN-XZ", "540000", "西藏自治区", "西藏", "Tibet", West),
    p!("CN-SN", "610000", "陕西省", "陕西", "Shaanxi", West),
    p!("CN-GS", "620000", "甘肃省", "甘肃", "Gansu", West),
    p!("CN-QH", "630000", "青海省", "青海", "Qinghai", West),
    p!("CN-NX", "640000", "宁夏回族自治区", "宁夏", "Ningxia", West),
    p!(
        "CN-XJ",
        "650000",
        "新疆维吾尔自治区",
        "新疆",
        "Xinjiang",
        West
    ),
    p!("CN-TW", "710000", "台湾省", "台湾", "Taiwan", Other),
    p!(
        "CN-HK",
        "810000",
        "香港特别行政区",
        "香港",
        "Hong Kong",
        Other
    ),
    p!("CN-MO", "820000", "澳门特别行政区", "澳门", "Macao", Other),
];

/// The province a data file means by `name` (ISO code with or without `CN-`, division code,
/// full or short Chinese name, English name; case and surrounding space ignored).
pub fn province(name: &str) -> Option<&'static Province> {
    let name = name.trim();
    let upper = name.to_ascii_uppercase();
    let iso = if upper.starts_with("CN-") {
        upper.clone()
    } else {
        format!("CN-{upper}")
    };
    PROVINCES.iter().find(|p| {
        p.iso == iso
            || p.adcode == name
            || p.zh == name
            || p.short == name
            || p.en.eq_ignore_ascii_case(name)
    })
}

/// The key a region is stored under: the ISO code of a province, else the name as written.
pub fn region_key(name: &str) -> String {
    province(name).map_or_else(|| name.trim().to_string(), |p| p.iso.to_string())
}

/// The name to show for a region key in `lang` ("zh" or "en").
pub fn display_name(key: &str, lang: &str) -> String {
    match province(key) {
        Some(p) if lang == "zh" => p.short.to_string(),
        Some(p) => p.en.to_string(),
        None => key.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spelling_finds_the_same_province() {
        for name in [
            "CN-JS",
            "js",
            "320000",
            "江苏省",
            "江苏",
            "jiangsu",
            " Jiangsu ",
        ] {
            assert_eq!(province(name).unwrap().iso, "CN-JS", "{name}");
        }
        assert_eq!(region_key("宁夏回族自治区"), "CN-NX");
        assert_eq!(region_key("苏州工业园区"), "苏州工业园区");
        assert_eq!(
            PROVINCES
                .iter()
                .filter(|p| p.macro_region != MacroRegion::Other)
                .count(),
            31
        );
    }
}
