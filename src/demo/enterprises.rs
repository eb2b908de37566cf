//! Deterministic fake enterprise libraries for the demo district and for benchmarks.
//!
//! Owns: making any number of plausible Nanhai (Foshan) enterprises with their licences from a seed
//! — valid unified social credit codes (unique across the whole output), names, legal
//! representatives with valid resident IDs, phones, addresses in the town the grid cell belongs to,
//! WGS-84 points strictly inside the given cells, a realistic status mix (吊销, 注销, 停业) and
//! licences including revoked and expired ones — and writing them as the import's two CSV files.
//!
//! Must not: read clocks or use randomness from outside, or do I/O beyond its two edges
//! (`cell_areas` reads the stored map, `write_csv` writes where it is told). The same `(seed,
//! count, areas, today)` always gives byte-identical output (the demo's SplitMix64 in `super::rng`,
//! integer draws only), and the first `n` enterprises of a larger library are the library of `n`.
//!
//! Everything here is fake. Numbers are shaped and checked like real ones, so a generated number may
//! coincide with a real enterprise's or person's; never load a generated library outside the demo
//! and benchmarks.

use std::io::Write;

use chrono::{Datelike, Days, Months, NaiveDate};
use serde::{Serialize, Serializer};

use crate::licences::numbers::{org_check_char, resident_id_check_char, uscc_check_char};

use super::rng::Rng;

// ---------------------------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------------------------

/// A grid cell (or any area) enterprises are placed in: its 14-digit code and bounding box (WGS-84).
/// The town part of the code (characters 7–9: `011` 桂城街道, `125` 大沥镇, `126` 里水镇) chooses the
/// address, the place names and the mix of trades.
#[derive(Debug, Clone, PartialEq)]
pub struct Area {
    pub cell_code: String,
    pub min_lon: f64,
    pub min_lat: f64,
    pub max_lon: f64,
    pub max_lat: f64,
}

/// The live cells of the stored map, as areas to place enterprises in.
pub fn cell_areas(conn: &mut crate::db::Conn) -> diesel::QueryResult<Vec<Area>> {
    Ok(crate::grid::store::cell_bboxes(conn)?
        .into_iter()
        .map(|(cell_code, (min_lon, min_lat, max_lon, max_lat))| Area {
            cell_code,
            min_lon,
            min_lat,
            max_lon,
            max_lat,
        })
        .collect())
}

/// One enterprise; its fields, in order, are the columns of the enterprise CSV.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GeneratedEnterprise {
    pub uscc: String,
    pub name: String,
    pub legal_representative: String,
    pub legal_rep_id_number: String,
    pub phone: String,
    pub address: String,
    #[serde(serialize_with = "seven_decimals")]
    pub lon: f64,
    #[serde(serialize_with = "seven_decimals")]
    pub lat: f64,
    /// `active`, `revoked` (吊销), `cancelled` (注销) or `suspended`.
    pub status: &'static str,
    pub registered_on: NaiveDate,
    /// `shop`, `restaurant`, `market`, `factory`, `workshop` or `warehouse`.
    pub place_kind: &'static str,
}

/// One licence; its fields, in order, are the columns of the licence CSV.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GeneratedLicence {
    pub uscc: String,
    /// `business_licence`, `food_business`, `food_production`, `tobacco_retail` or `hygiene`.
    pub kind: &'static str,
    pub number: String,
    pub valid_from: NaiveDate,
    /// 9999-12-31 for a business licence without a fixed term (长期).
    pub valid_to: NaiveDate,
    /// `valid`, `revoked`, `expired` or `suspended`.
    pub status: &'static str,
}

/// `valid_to` of a business licence whose term is 长期 (no end).
const NO_END_DATE: NaiveDate = ymd(9999, 12, 31);

/// Generates `count` enterprises, each with its licences (the business licence first).
///
/// Enterprise `i` lies in `areas[i % areas.len()]`, uniformly, strictly inside the box, on the
/// 1e-7° grid the CSV prints. Registrations fall in 1998..=today, and licence validity and expiry
/// are judged against `today`.
///
/// Unique across the output: every USCC (hence every business licence number) and every other
/// licence number. The number spaces hold hundreds of millions of USCCs and tens of millions of
/// licences of each kind — far more than fits in memory; the function panics rather than repeat one.
///
/// # Panics
/// If `count > 0` and `areas` is empty.
pub fn generate(
    seed: u64,
    count: usize,
    areas: &[Area],
    today: NaiveDate,
) -> Vec<(GeneratedEnterprise, Vec<GeneratedLicence>)> {
    if count == 0 {
        return Vec::new();
    }
    assert!(!areas.is_empty(), "generate: at least one area is needed");
    let mut g = Generator::new(seed, today);
    (0..count)
        .map(|i| g.enterprise(&areas[i % areas.len()]))
        .collect()
}

/// The import's enterprise columns (docs/enterprises.md), in the order of [`GeneratedEnterprise`].
const ENTERPRISE_COLUMNS: [&str; 11] = [
    "uscc",
    "name",
    "legal_representative",
    "legal_rep_id_number",
    "phone",
    "address",
    "lon",
    "lat",
    "status",
    "registered_on",
    "place_kind",
];

/// The import's licence columns, in the order of [`GeneratedLicence`].
const LICENCE_COLUMNS: [&str; 6] = ["uscc", "kind", "number", "valid_from", "valid_to", "status"];

/// Writes `library` as the import's two CSV files, each with its header (even when empty):
/// quotes only where RFC 4180 needs them, `\n` line ends, as the committed demo files are.
pub fn write_csv<E: Write, L: Write>(
    library: &[(GeneratedEnterprise, Vec<GeneratedLicence>)],
    enterprises: E,
    licences: L,
) -> csv::Result<()> {
    let mut e = csv_writer(enterprises);
    let mut l = csv_writer(licences);
    e.write_record(ENTERPRISE_COLUMNS)?;
    l.write_record(LICENCE_COLUMNS)?;
    for (enterprise, its_licences) in library {
        e.serialize(enterprise)?;
        for licence in its_licences {
            l.serialize(licence)?;
        }
    }
    e.flush()?;
    l.flush()?;
    Ok(())
}

/// Headers are written by hand so that an empty library has them too (the crate writes a
/// serialized header with the first row only); quoting and line ends are spelled out rather
/// than left to the crate's defaults, since the committed files must not change.
fn csv_writer<W: Write>(out: W) -> csv::Writer<W> {
    csv::WriterBuilder::new()
        .has_headers(false)
        .quote_style(csv::QuoteStyle::Necessary)
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(out)
}

/// Points lie on the 1e-7° grid, so seven decimals print them exactly.
fn seven_decimals<S: Serializer>(degrees: &f64, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&format_args!("{degrees:.7}"))
}

// ---------------------------------------------------------------------------------------------
// Unique numbers
// ---------------------------------------------------------------------------------------------

/// A permutation of `0..n` handed out one value at a time: `(a·k + b) mod n` with `gcd(a, n) = 1`,
/// so no value repeats until the space is used up.
struct Space {
    n: u64,
    a: u64,
    b: u64,
    used: u64,
}

impl Space {
    fn new(n: u64, rng: &mut Rng) -> Space {
        let mut a = 1 + rng.below(n - 1);
        while gcd(a, n) != 1 {
            a = a % (n - 1) + 1;
        }
        Space {
            n,
            a,
            b: rng.below(n),
            used: 0,
        }
    }

    fn take(&mut self) -> Option<u64> {
        if self.used == self.n {
            return None;
        }
        let v =
            (u128::from(self.a) * u128::from(self.used) + u128::from(self.b)) % u128::from(self.n);
        self.used += 1;
        Some(v as u64)
    }
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// Takes from `spaces[preferred]`, or from the next space with room; returns (space index, value).
fn take(spaces: &mut [Space], preferred: usize, what: &str) -> (usize, u64) {
    let n = spaces.len();
    for k in 0..n {
        let i = (preferred + k) % n;
        if let Some(v) = spaces[i].take() {
            return (i, v);
        }
    }
    panic!("generate: ran out of unique {what} numbers");
}

// ---------------------------------------------------------------------------------------------
// Dates
// ---------------------------------------------------------------------------------------------

/// A date written in the code.
const fn ymd(year: i32, month: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, month, day).expect("a calendar date")
}

/// The first day registrations are made from (unless today is earlier).
const FIRST_REGISTRATION: NaiveDate = ymd(1998, 1, 1);
/// USCCs replaced organization codes for new registrations from this day.
const USCC_START: NaiveDate = ymd(2015, 10, 1);
/// Individual businesses carry "（个体工商户）" in their names from this day.
const SUFFIX_START: NaiveDate = ymd(2022, 11, 1);
/// Legal representatives are born in these years.
const BORN_FROM: NaiveDate = ymd(1955, 1, 1);
const BORN_TO: NaiveDate = ymd(2000, 12, 31);

/// The same day `years` later (or earlier); 29 February becomes 28 February in a common year.
fn add_years(day: NaiveDate, years: i32) -> NaiveDate {
    let months = Months::new(12 * years.unsigned_abs());
    let moved = match years >= 0 {
        true => day.checked_add_months(months),
        false => day.checked_sub_months(months),
    };
    moved.expect("a date within chrono's range")
}

/// The last day of a term of `years` starting on `from` (a 5-year licence from 2021-03-02 runs to
/// 2026-03-01).
fn term_end(from: NaiveDate, years: i32) -> NaiveDate {
    add_years(from, years) - Days::new(1)
}

// ---------------------------------------------------------------------------------------------
// Reference data: towns, trades, people
// ---------------------------------------------------------------------------------------------

const SHOP: &str = "shop";
const RESTAURANT: &str = "restaurant";
const MARKET: &str = "market";
const FACTORY: &str = "factory";
const WORKSHOP: &str = "workshop";
const WAREHOUSE: &str = "warehouse";

struct Town {
    /// Three town digits of the grid code.
    code: &'static str,
    /// As written in addresses after 佛山市南海区 ("" when the town is not one we know).
    full: &'static str,
    /// As written in names after 佛山市南海区 ("" when unknown).
    short: &'static str,
    /// Community digits of the grid code → place name.
    communities: &'static [(&'static str, &'static str)],
    places: &'static [&'static str],
    roads: &'static [&'static str],
    parks: &'static [&'static str],
}

#[rustfmt::skip]
const TOWNS: [Town; 4] = [
    Town {
        code: "011", full: "桂城街道", short: "桂城",
        communities: &[("001", "灯湖"), ("002", "东二"), ("003", "夏北")],
        places: &["灯湖", "东二", "夏北", "平洲", "叠滘", "夏西", "南约", "海五", "平东", "林岳",
            "雷岗", "三山", "东约", "桂江", "千灯湖"],
        roads: &["灯湖东路", "灯湖西路", "南海大道北", "南海大道中", "桂澜北路", "桂澜中路",
            "南桂东路", "南桂西路", "海五路", "海八路", "宝石西路", "季华东路", "文翰路", "天佑六路",
            "夏南路", "永安中路", "叠滘大道", "南平西路", "华翠北路", "桂和路"],
        parks: &["平洲工业园", "夏西工业区", "叠滘工业区", "三山工业区", "平东工业区"],
    },
    Town {
        code: "125", full: "大沥镇", short: "大沥",
        communities: &[("001", "黄岐"), ("002", "盐步"), ("003", "大沥")],
        places: &["黄岐", "盐步", "大沥", "太平", "沥东", "奇槎", "钟边", "水头", "联滘", "河东",
            "平地", "凤池", "沥北", "雅瑶"],
        roads: &["广佛路", "黄岐建设大道", "盐步大道", "东秀路", "毅贤路", "沥东大道", "太平大道",
            "兴沥路", "钟边大道", "奇槎路", "雅瑶路", "沥苑路", "振兴路", "岭南路", "大镇大道",
            "海北大道", "泌冲路", "鸿大路"],
        parks: &["太平工业区", "钟边工业区", "沥东工业区", "水头工业区", "黄岐工业区",
            "盐步河东工业区", "凤池工业区", "奇槎工业区"],
    },
    Town {
        code: "126", full: "里水镇", short: "里水",
        communities: &[("001", "里水"), ("002", "和顺"), ("003", "新联")],
        places: &["和顺", "新联", "里水", "甘蕉", "沙涌", "草场", "逢涌", "麻奢", "北沙", "赤山",
            "鹤峰", "宏岗", "旗峰", "岗联"],
        roads: &["里水大道北", "里水大道中", "里水大道南", "和顺大道", "和桂路", "里和路", "新联路",
            "甘蕉路", "沙涌路", "逢涌路", "草场路", "宏岗路", "建设路", "海南洲路", "麻奢路",
            "旗峰大道"],
        parks: &["和顺工业园", "里水工业区", "沙涌工业区", "甘蕉工业区", "赤山工业区",
            "新联工业区", "草场工业区"],
    },
    Town {
        code: "", full: "", short: "",
        communities: &[],
        places: &["狮山", "西樵", "九江", "丹灶", "罗村", "松岗", "小塘", "官窑"],
        roads: &["狮山大道", "罗村大道", "桂丹路", "广云路", "樵金路", "西樵大道", "九江大道",
            "金沙大道", "松岗大道", "小塘大道", "官窑大道", "兴业路", "南海大道南"],
        parks: &["狮山工业园", "松岗工业区", "丹灶工业区", "罗村工业区", "小塘工业区",
            "九江工业区"],
    },
];

/// Index into [`TOWNS`] for a 14-digit grid code: characters 7–9 are the town.
fn town_index(cell_code: &str) -> usize {
    let digits = cell_code.get(6..9).unwrap_or("");
    TOWNS[..3]
        .iter()
        .position(|t| t.code == digits)
        .unwrap_or(3)
}

/// A line of business: where it is, who runs it, what it is called, which licences it needs.
struct Trade {
    place_kind: &'static str,
    /// Relative frequency in 桂城, 大沥, 里水, elsewhere in Nanhai.
    weights: [u32; 4],
    /// ‰ run as 个体工商户 rather than a company.
    individual_pm: u32,
    /// Last part of an individual business's name (五金店, 烧腊店 ...).
    individual_words: &'static [&'static str],
    /// Industry part of a company's name, before 有限公司 (铝型材, 餐饮管理 ...).
    company_words: &'static [&'static str],
    food_business_pm: u32,
    /// First digit of a JY number: 1 sales, 2 catering, 3 canteen.
    jy_form: u8,
    tobacco_pm: u32,
    /// Food production (SC) categories; every such maker holds one.
    sc_categories: &'static [&'static str],
    /// Public venue (公共场所): holds a hygiene licence.
    hygiene: bool,
}

impl Trade {
    const fn new(
        place_kind: &'static str,
        weights: [u32; 4],
        individual_pm: u32,
        individual_words: &'static [&'static str],
        company_words: &'static [&'static str],
    ) -> Trade {
        Trade {
            place_kind,
            weights,
            individual_pm,
            individual_words,
            company_words,
            food_business_pm: 0,
            jy_form: 1,
            tobacco_pm: 0,
            sc_categories: &[],
            hygiene: false,
        }
    }

    const fn food(self, per_mille: u32, form: u8) -> Trade {
        Trade {
            food_business_pm: per_mille,
            jy_form: form,
            ..self
        }
    }

    const fn tobacco(self, per_mille: u32) -> Trade {
        Trade {
            tobacco_pm: per_mille,
            ..self
        }
    }

    const fn makes_food(self, categories: &'static [&'static str]) -> Trade {
        Trade {
            sc_categories: categories,
            ..self
        }
    }

    const fn public_venue(self) -> Trade {
        Trade {
            hygiene: true,
            ..self
        }
    }
}

/// Food production licence categories (食品生产许可分类目录), all that the SC numbers may use.
#[rustfmt::skip]
const SC_CATEGORIES: [&str; 31] = [
    "101", "102", "103", "104", "105", "106", "107", "108", "109", "110", "111", "112", "113", "114",
    "115", "116", "117", "118", "119", "120", "121", "122", "123", "124", "125", "126", "127", "128",
    "129", "131", "132",
];

/// Weights are per town: 桂城, 大沥, 里水, elsewhere.
#[rustfmt::skip]
const TRADES: &[Trade] = &[
    // --- shops ---
    Trade::new(SHOP, [55, 38, 38, 42], 850, &["便利店", "士多店", "商店", "百货店", "小卖部"],
        &["便利店", "超市", "商贸"]).food(950, 1).tobacco(800),
    Trade::new(SHOP, [14, 12, 12, 12], 500, &["超市", "百货超市", "生活超市"],
        &["超市", "百货", "商贸"]).food(1000, 1).tobacco(700),
    Trade::new(SHOP, [12, 8, 8, 8], 900, &["烟酒商行", "烟酒茶行", "茶行", "茶叶店"],
        &["茶业", "贸易"]).food(1000, 1).tobacco(750),
    Trade::new(SHOP, [8, 8, 8, 8], 850, &["粮油店", "副食店", "米铺", "粮油副食店"],
        &["粮油", "食品贸易"]).food(1000, 1).tobacco(400),
    Trade::new(SHOP, [14, 12, 10, 10], 900, &["水果店", "果业商行", "鲜果店"],
        &["果业", "农产品"]).food(500, 1),
    Trade::new(SHOP, [10, 7, 6, 6], 800, &["面包店", "饼店", "蛋糕店", "烘焙坊"],
        &["食品", "烘焙"]).food(1000, 1),
    Trade::new(SHOP, [7, 5, 4, 4], 800, &["母婴用品店", "孕婴店"], &["母婴用品"]).food(800, 1),
    Trade::new(SHOP, [15, 28, 24, 20], 800, &["五金店", "五金商行", "五金建材店", "五金交电店"],
        &["五金", "五金贸易", "建材"]),
    Trade::new(SHOP, [24, 24, 12, 14], 850, &["服装店", "时装店", "服饰店", "内衣店"],
        &["服饰", "服装贸易"]),
    Trade::new(SHOP, [12, 8, 6, 8], 850, &["通讯器材店", "手机店", "通讯店"],
        &["通讯设备", "电子科技"]),
    Trade::new(SHOP, [8, 8, 6, 6], 800, &["电器店", "家电商行"], &["电器", "家电销售"]),
    Trade::new(SHOP, [5, 10, 8, 6], 700, &["家具店", "家私店", "家居店"], &["家具", "家居"]),
    Trade::new(SHOP, [5, 8, 8, 8], 750, &["陶瓷店", "建材店", "卫浴店", "灯饰店"],
        &["建材", "陶瓷", "卫浴"]),
    Trade::new(SHOP, [6, 4, 4, 4], 850, &["文具店", "书店", "文具精品店"],
        &["文化用品", "文化传播"]),
    Trade::new(SHOP, [8, 0, 0, 0], 850, &["玉器店", "玉器行", "珠宝玉器店"], &["珠宝", "玉器"]),
    Trade::new(SHOP, [5, 3, 3, 3], 900, &["洗衣店", "干洗店"], &["洗涤服务"]),
    Trade::new(SHOP, [18, 14, 12, 12], 900, &["理发店", "发型屋", "美发店", "发艺工作室"],
        &["美发", "美容美发"]).public_venue(),
    Trade::new(SHOP, [12, 8, 6, 6], 850, &["美容院", "美容店", "美容美体店"],
        &["美容", "健康管理"]).public_venue(),
    Trade::new(SHOP, [7, 6, 5, 5], 600, &["旅店", "宾馆", "公寓", "招待所"],
        &["酒店", "酒店管理", "宾馆"]).public_venue().food(150, 2).tobacco(200),
    Trade::new(SHOP, [5, 4, 3, 3], 700, &["沐足店", "足浴店", "养生馆"],
        &["健康管理", "养生"]).public_venue(),
    // --- restaurants ---
    Trade::new(RESTAURANT, [30, 25, 20, 25], 900,
        &["粥粉面店", "粥粉面馆", "肠粉店", "面馆", "云吞面店"],
        &["饮食", "餐饮管理"]).food(1000, 2).tobacco(80),
    Trade::new(RESTAURANT, [20, 12, 10, 12], 750, &["茶餐厅", "冰室"],
        &["餐饮", "茶餐厅"]).food(1000, 2).tobacco(50),
    Trade::new(RESTAURANT, [12, 10, 10, 10], 900, &["烧腊店", "烧味店", "烧腊档"],
        &["食品", "餐饮"]).food(1000, 2),
    Trade::new(RESTAURANT, [8, 8, 8, 8], 500, &["酒家", "饭店", "大排档"],
        &["酒家", "餐饮管理", "饮食服务"]).food(1000, 2).tobacco(300),
    Trade::new(RESTAURANT, [15, 12, 10, 10], 850, &["快餐店", "小食店", "小吃店", "餐馆"],
        &["餐饮管理", "快餐"]).food(1000, 2).tobacco(50),
    Trade::new(RESTAURANT, [12, 8, 6, 6], 850, &["糖水铺", "奶茶店", "甜品店", "凉茶铺"],
        &["餐饮", "饮品"]).food(1000, 2),
    Trade::new(RESTAURANT, [8, 6, 6, 6], 700, &["火锅店", "烧烤店", "烧烤档"],
        &["餐饮", "餐饮管理"]).food(1000, 2).tobacco(100),
    Trade::new(RESTAURANT, [2, 3, 3, 3], 0, &["饭堂"], &["膳食管理", "餐饮管理"]).food(1000, 3),
    // --- markets: stalls (个体) and market operators ---
    Trade::new(MARKET, [16, 18, 18, 18], 1000,
        &["猪肉档", "水产档", "蔬菜档", "干货档", "三鸟档", "鲜鱼档", "豆腐档", "海味档"],
        &["农产品"]).food(500, 1),
    Trade::new(MARKET, [2, 4, 3, 3], 0, &["市场"],
        &["市场管理", "农贸市场经营管理", "商贸城管理", "物业管理"]).food(300, 1),
    // --- factories ---
    Trade::new(FACTORY, [2, 30, 20, 6], 50, &["铝材加工厂", "铝型材厂"],
        &["铝型材", "铝业", "铝材", "金属制品", "有色金属"]),
    Trade::new(FACTORY, [3, 15, 15, 12], 100, &["五金加工厂", "五金厂"],
        &["五金制品", "五金塑料", "金属制品", "五金电器"]),
    Trade::new(FACTORY, [2, 14, 18, 8], 100, &["针织厂", "织布厂"],
        &["纺织", "针织", "织造", "布业", "袜业"]),
    Trade::new(FACTORY, [2, 14, 8, 6], 100, &["制衣厂", "内衣厂"],
        &["内衣", "服装", "服饰", "制衣"]),
    Trade::new(FACTORY, [1, 8, 10, 10], 100, &["家具厂", "木器厂"],
        &["家具", "家居", "木业", "家具制造"]),
    Trade::new(FACTORY, [1, 6, 6, 8], 100, &["塑料厂", "纸品厂", "印刷厂"],
        &["塑料制品", "包装材料", "包装制品", "印刷"]),
    Trade::new(FACTORY, [2, 6, 6, 10], 50, &["机械厂"],
        &["机械设备", "电器", "电子科技", "智能装备", "新材料"]),
    Trade::new(FACTORY, [0, 4, 6, 8], 50, &["卫浴厂"], &["卫浴", "陶瓷", "建材"]),
    Trade::new(FACTORY, [3, 6, 6, 6], 100, &["食品厂"],
        &["食品", "调味食品", "面制品", "糕点食品"]).makes_food(&["101", "103", "111", "124"]),
    Trade::new(FACTORY, [1, 4, 4, 4], 50, &["饮料厂"], &["饮料", "饮品", "食品"])
        .makes_food(&["106"]),
    // --- workshops ---
    Trade::new(WORKSHOP, [2, 12, 12, 8], 700, &["制衣厂", "服装加工厂", "车衣厂", "制衣加工场"],
        &["服装", "服饰", "制衣"]),
    Trade::new(WORKSHOP, [2, 10, 10, 8], 700,
        &["五金加工店", "五金加工厂", "铝材加工店", "不锈钢加工店"], &["五金制品", "金属制品"]),
    Trade::new(WORKSHOP, [8, 8, 8, 8], 750,
        &["汽车维修店", "汽车修配厂", "汽车美容店", "摩托车维修店"],
        &["汽车维修服务", "汽车服务"]),
    Trade::new(WORKSHOP, [1, 5, 6, 6], 750, &["木器加工厂", "家具加工厂"], &["木业", "家具"]),
    Trade::new(WORKSHOP, [5, 4, 4, 4], 750, &["印刷厂", "广告部", "图文店", "广告制作店"],
        &["印刷", "广告"]),
    Trade::new(WORKSHOP, [1, 2, 2, 2], 800, &["饼家", "糕点加工场"], &["食品", "糕点食品"])
        .makes_food(&["124"]),
    Trade::new(WORKSHOP, [1, 2, 2, 2], 800, &["腊味加工场", "腊味厂"], &["食品", "腊味食品"])
        .makes_food(&["104"]),
    Trade::new(WORKSHOP, [1, 2, 2, 2], 850, &["豆制品加工场", "米粉加工场"], &["食品", "豆制品"])
        .makes_food(&["125", "101"]),
    // --- warehouses ---
    Trade::new(WAREHOUSE, [6, 14, 12, 10], 300,
        &["货运部", "货运代理部", "物流服务部", "快递服务部"],
        &["物流", "供应链管理", "货运代理", "运输"]),
    Trade::new(WAREHOUSE, [2, 6, 6, 6], 200, &["仓储服务部", "仓库"],
        &["仓储", "仓储服务", "冷链物流"]).food(100, 1),
];

/// First and second characters of a business's trade name (字号).
#[rustfmt::skip]
const BRAND_FIRST: &[&str] = &[
    "鸿", "顺", "兴", "福", "利", "金", "永", "恒", "宏", "嘉", "华", "广", "粤", "佳", "新", "富",
    "昌", "万", "鑫", "宝", "丰", "荣", "创", "骏", "锦", "润", "联", "安", "俊", "盈", "协", "建",
    "泰", "祥", "德", "源", "海", "穗", "精", "捷", "星", "明", "立", "合", "东", "鹏", "伟", "瑞",
    "益", "信", "威", "诚", "凯", "隆", "汇", "旺", "南", "铭", "志", "景",
];
#[rustfmt::skip]
const BRAND_SECOND: &[&str] = &[
    "发", "景", "盛", "源", "达", "泰", "华", "兴", "利", "丰", "顺", "昌", "和", "隆", "宝", "信",
    "业", "辉", "成", "通", "祥", "益", "威", "豪", "鑫", "美", "康", "荣", "德", "骏", "记", "峰",
    "新", "晖", "彩", "满", "富", "安",
];

/// Surnames weighted roughly as in Nanhai (Cantonese names first).
#[rustfmt::skip]
const SURNAMES: &[(&str, u32)] = &[
    ("陈", 120), ("梁", 70), ("黄", 70), ("李", 60), ("何", 45), ("罗", 30), ("冯", 30), ("麦", 25),
    ("区", 20), ("潘", 25), ("张", 35), ("林", 30), ("吴", 25), ("刘", 30), ("关", 20), ("谭", 20),
    ("伍", 15), ("邓", 20), ("叶", 20), ("杨", 20), ("周", 15), ("郭", 12), ("钟", 15), ("卢", 15),
    ("苏", 12), ("曾", 12), ("霍", 10), ("简", 8), ("庞", 8), ("邝", 8), ("招", 6), ("岑", 6),
    ("植", 4), ("谢", 12), ("蔡", 10), ("郑", 12), ("欧阳", 4), ("司徒", 3),
];
#[rustfmt::skip]
const MALE_GIVEN: &[&str] = &[
    "伟", "强", "明", "华", "建", "国", "志", "文", "军", "杰", "俊", "锦", "荣", "辉", "永", "家",
    "耀", "健", "斌", "浩", "振", "海", "成", "栋", "东", "坤", "锋", "亮", "康", "德", "炳", "灿",
    "权", "汉", "威", "树", "根", "添", "达", "标", "润", "培", "满", "贤", "宇", "恒",
];
#[rustfmt::skip]
const FEMALE_GIVEN: &[&str] = &[
    "丽", "美", "玲", "芳", "燕", "敏", "婷", "娟", "霞", "红", "嘉", "欣", "慧", "琳", "颖", "洁",
    "翠", "妹", "珍", "秀", "凤", "莲", "彩", "雪", "晓", "静", "萍", "玉", "银", "婉", "桂", "婵",
    "兰", "诗",
];

/// Region codes of residents' IDs (4406xx: Foshan and its districts, including the pre-2002 county-
/// level cities; 440682 is the old 南海市).
#[rustfmt::skip]
const ID_REGIONS: &[(&str, u32)] = &[
    ("440682", 35), ("440605", 20), ("440604", 10), ("440602", 8), ("440603", 5), ("440681", 6),
    ("440606", 6), ("440683", 4), ("440607", 3), ("440684", 3),
];

#[rustfmt::skip]
const MOBILE_PREFIXES: &[&str] = &[
    "130", "131", "132", "133", "134", "135", "136", "137", "138", "139", "150", "151", "152", "153",
    "155", "156", "157", "158", "159", "180", "181", "182", "183", "184", "185", "186", "187", "188",
    "189", "191", "193", "195", "198", "199",
];

#[rustfmt::skip]
const CN_NUMERALS: &[&str] = &[
    "一", "二", "三", "四", "五", "六", "七", "八", "九", "十", "十一", "十二",
];
const MARKET_NAMES: &[&str] = &["肉菜市场", "综合市场", "农贸市场", "市场"];
#[rustfmt::skip]
const FIELD_NAMES: &[&str] = &[
    "大围", "牛岗", "沙岗", "塘边", "新围", "上塘", "鱼塘尾", "石岗", "村前", "大冲",
];

/// The character set of GB 32100 (value = index).
const USCC_SET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";

#[rustfmt::skip]
const STATUSES: &[(&str, u32)] = &[
    ("active", 900), ("revoked", 40), ("cancelled", 40), ("suspended", 20),
];

// ---------------------------------------------------------------------------------------------
// The generator
// ---------------------------------------------------------------------------------------------

/// Old-style numeric organization codes for companies registered before the USCC (8 digits from
/// 55000000).
const OLD_ORG_BASE: u64 = 55_000_000;
const OLD_ORG_SPACE: u64 = 25_000_000;
/// 31^5: the tail after "MA" and the third character.
const MA_TAIL_SPACE: u64 = 28_629_151;
const JY_FORMS: [u8; 3] = [1, 2, 3];
const TOBACCO_PREFIXES: [&str; 2] = ["440605", "440682"];
const HYGIENE_PREFIXES: [&str; 2] = ["0605", "0682"];

struct Generator {
    rng: Rng,
    today: NaiveDate,
    /// First possible registration day: [`FIRST_REGISTRATION`], or today if earlier.
    first_day: NaiveDate,
    /// Cumulative trade weights per town.
    cumulative: [Vec<u32>; 4],
    old_org: Space,
    /// By third character of the body (index in the USCC set): MA4…, MA5…, MAC….
    ma_org: Vec<Space>,
    jy: Vec<Space>,
    sc: Vec<Space>,
    tobacco: Vec<Space>,
    hygiene: Vec<Space>,
    /// Expired food licences wanted but not yet placed (young enterprises cannot have one).
    expired_owed: u32,
}

impl Generator {
    fn new(seed: u64, today: NaiveDate) -> Generator {
        let mut rng = Rng::new(seed ^ 0x6772_6964_7061_7472); // "gridpatr"
        let cumulative = std::array::from_fn(|t| {
            let mut sum = 0;
            TRADES
                .iter()
                .map(|tr| {
                    sum += tr.weights[t];
                    sum
                })
                .collect()
        });
        let old_org = Space::new(OLD_ORG_SPACE, &mut rng);
        let ma_org = (0..USCC_SET.len())
            .map(|_| Space::new(MA_TAIL_SPACE, &mut rng))
            .collect();
        let jy = JY_FORMS
            .iter()
            .map(|_| Space::new(10_000_000, &mut rng))
            .collect();
        let sc = SC_CATEGORIES
            .iter()
            .map(|_| Space::new(100_000, &mut rng))
            .collect();
        let tobacco = TOBACCO_PREFIXES
            .iter()
            .map(|_| Space::new(1_000_000, &mut rng))
            .collect();
        let hygiene = HYGIENE_PREFIXES
            .iter()
            .map(|_| Space::new(1_000_000, &mut rng))
            .collect();
        Generator {
            rng,
            today,
            first_day: FIRST_REGISTRATION.min(today),
            cumulative,
            old_org,
            ma_org,
            jy,
            sc,
            tobacco,
            hygiene,
            expired_owed: 0,
        }
    }

    fn enterprise(&mut self, area: &Area) -> (GeneratedEnterprise, Vec<GeneratedLicence>) {
        let t = town_index(&area.cell_code);
        let town = &TOWNS[t];
        let trade = self.trade(t);
        let individual = self.rng.chance_per_mille(trade.individual_pm);
        // Linear density rising towards today: more recent registrations are more common.
        let span = (self.today - self.first_day).num_days() as u64 + 1;
        let registered = self.first_day + Days::new(self.rng.below(span).max(self.rng.below(span)));
        let status = *self.rng.pick_weighted(STATUSES);
        let male = self.rng.chance_per_mille(620);
        let surname = *self.rng.pick_weighted(SURNAMES);
        let given = self.given_name(male);
        let id_number = self.resident_id(registered, male);
        let phone = format!(
            "{}{:08}",
            self.rng.pick(MOBILE_PREFIXES),
            self.rng.below(100_000_000)
        );
        let uscc = self.uscc(individual, registered);
        let place = self.place(town, &area.cell_code);
        let name = if individual {
            self.individual_name(town, place, trade, surname, &given, registered)
        } else {
            self.company_name(town, place, trade)
        };
        let address = self.address(town, place, trade, individual);
        let lon = self.coordinate(area.min_lon, area.max_lon);
        let lat = self.coordinate(area.min_lat, area.max_lat);
        let licences = self.licences(&uscc, trade, status, registered);
        let enterprise = GeneratedEnterprise {
            uscc,
            name,
            legal_representative: format!("{surname}{given}"),
            legal_rep_id_number: id_number,
            phone,
            address,
            lon,
            lat,
            status,
            registered_on: registered,
            place_kind: trade.place_kind,
        };
        (enterprise, licences)
    }

    fn trade(&mut self, town: usize) -> &'static Trade {
        let cumulative = &self.cumulative[town];
        let total = cumulative[cumulative.len() - 1];
        let r = self.rng.below(u64::from(total)) as u32;
        &TRADES[cumulative.partition_point(|&c| c <= r)]
    }

    fn given_name(&mut self, male: bool) -> String {
        let set = if male { MALE_GIVEN } else { FEMALE_GIVEN };
        let first = *self.rng.pick(set);
        if self.rng.chance_per_mille(200) {
            return first.to_string();
        }
        let mut second = *self.rng.pick(set);
        if second == first && !self.rng.chance_per_mille(300) {
            second = *self.rng.pick(set);
        }
        format!("{first}{second}")
    }

    /// GB 11643: region, birth date, sequence (odd for men), check. Born 1955–2000 and at least 18
    /// on the day the business was registered.
    fn resident_id(&mut self, registered: NaiveDate, male: bool) -> String {
        let region = *self.rng.pick_weighted(ID_REGIONS);
        let latest = BORN_TO.min(add_years(registered, -18)).max(BORN_FROM);
        let born = self.day_between(BORN_FROM, latest);
        let sequence = self.rng.below(50) * 2 + self.rng.below(10) * 100 + u64::from(male);
        let first17 = format!("{region}{}{sequence:03}", born.format("%Y%m%d"));
        let check = resident_id_check_char(&first17).expect("17 digits");
        format!("{first17}{check}")
    }

    /// GB 32100: 9 (market regulation), 1 company / 2 individual business, 440605, organization
    /// code with its GB 11714 check, USCC check. Companies older than the USCC keep their numeric
    /// organization code; others get an "MA" code whose third character follows the year.
    fn uscc(&mut self, individual: bool, registered: NaiveDate) -> String {
        let mut body = String::with_capacity(8);
        let old = if !individual && registered < USCC_START {
            self.old_org.take()
        } else {
            None
        };
        if let Some(v) = old {
            body.push_str(&format!("{:08}", OLD_ORG_BASE + v));
        } else {
            let third = match registered.year() {
                ..=2017 => b'4',
                2018..=2021 => b'5',
                _ => b'C',
            };
            let preferred = USCC_SET.iter().position(|&c| c == third).unwrap_or(4);
            let (i, mut v) = take(&mut self.ma_org, preferred, "organization code");
            body.push_str("MA");
            body.push(char::from(USCC_SET[i]));
            let mut tail = [0u8; 5];
            for slot in tail.iter_mut().rev() {
                *slot = USCC_SET[(v % 31) as usize];
                v /= 31;
            }
            body.extend(tail.iter().map(|&b| char::from(b)));
        }
        let org_check = org_check_char(&body).expect("8 characters of the USCC set");
        let first17 = format!(
            "9{}440605{body}{org_check}",
            if individual { '2' } else { '1' }
        );
        let check = uscc_check_char(&first17).expect("17 characters of the USCC set");
        format!("{first17}{check}")
    }

    /// A place name: the community the cell belongs to, or another place of the same town.
    fn place(&mut self, town: &Town, cell_code: &str) -> &'static str {
        let community = cell_code.get(9..12).unwrap_or("");
        if let Some(&(_, name)) = town.communities.iter().find(|(c, _)| *c == community) {
            if self.rng.chance_per_mille(600) {
                return name;
            }
        }
        town.places[self.rng.below_usize(town.places.len())]
    }

    fn brand(&mut self) -> String {
        let first = *self.rng.pick(BRAND_FIRST);
        let mut second = *self.rng.pick(BRAND_SECOND);
        if second == first {
            second = "发";
        }
        format!("{first}{second}")
    }

    fn individual_name(
        &mut self,
        town: &Town,
        place: &str,
        trade: &Trade,
        surname: &str,
        given: &str,
        registered: NaiveDate,
    ) -> String {
        let word = *self.rng.pick(trade.individual_words);
        let mut name = String::with_capacity(64);
        name.push_str("佛山市南海区");
        name.push_str(town.short);
        // Outside the towns we know, a place name could contradict the address: use none.
        let style = match self.rng.below(100) {
            s if town.short.is_empty() && (s < 25 || (60..80).contains(&s)) => 40,
            s => s,
        };
        if style < 25 {
            // 佛山市南海区桂城灯湖便利店
            name.push_str(place);
        } else if style < 60 {
            // 佛山市南海区大沥顺景五金店
            name.push_str(&self.brand());
        } else if style < 80 {
            // 佛山市南海区大沥黄岐顺景五金店
            name.push_str(place);
            name.push_str(&self.brand());
        } else if style < 95 {
            // 佛山市南海区桂城陈记烧腊店
            name.push_str(surname);
            name.push('记');
        } else {
            // 佛山市南海区里水阿强粥粉面店
            name.push('阿');
            name.extend(given.chars().last());
        }
        name.push_str(word);
        if registered >= SUFFIX_START || self.rng.chance_per_mille(350) {
            name.push_str("（个体工商户）");
        }
        name
    }

    fn company_name(&mut self, town: &Town, place: &str, trade: &Trade) -> String {
        let word = *self.rng.pick(trade.company_words);
        let brand = self.brand();
        let style = self.rng.below(100);
        let industrial = matches!(trade.place_kind, FACTORY | WAREHOUSE);
        if style < 45 {
            format!("佛山市南海区{brand}{word}有限公司")
        } else if style < 58 && !town.short.is_empty() {
            // 佛山市南海区里水和顺铝型材有限公司
            format!("佛山市南海区{}{place}{word}有限公司", town.short)
        } else if style < 62 && !town.short.is_empty() {
            format!("佛山市南海区{}{brand}{word}有限公司", town.short)
        } else if style < 92 || (style < 97 && !industrial) {
            format!("佛山市{brand}{word}有限公司")
        } else if style < 97 {
            format!("广东{brand}{word}有限公司")
        } else {
            format!("{brand}（佛山）{word}有限公司")
        }
    }

    fn house_number(&mut self) -> u64 {
        1 + self.rng.below(300).min(self.rng.below(300))
    }

    fn address(&mut self, town: &Town, place: &str, trade: &Trade, individual: bool) -> String {
        let mut a = String::with_capacity(96);
        a.push_str("佛山市南海区");
        a.push_str(town.full);
        let n = self.house_number();
        let road = *self.rng.pick(town.roads);
        let cn = *self.rng.pick(CN_NUMERALS);
        let m = 1 + self.rng.below(30);
        let style = self.rng.below(100);
        let rest = match trade.place_kind {
            MARKET if individual => {
                let market = self.rng.pick(MARKET_NAMES);
                if style < 70 {
                    format!("{place}{market}{m}号档")
                } else {
                    let row = char::from(b'A' + self.rng.below(6) as u8);
                    format!("{place}{market}{row}{m:02}档")
                }
            }
            FACTORY | WORKSHOP => {
                let park = *self.rng.pick(town.parks);
                match style {
                    0..=29 => format!("{park}{cn}路{n}号"),
                    30..=49 => format!("{park}{m}号厂房"),
                    50..=69 => format!("{road}{n}号{}座厂房", 1 + m % 8),
                    70..=84 => format!("{road}{n}号之{cn}"),
                    _ => {
                        let field = self.rng.pick(FIELD_NAMES);
                        format!("{place}村委会土名“{field}”自编{m}号")
                    }
                }
            }
            WAREHOUSE => match style {
                0..=39 => format!("{road}{n}号{m}号仓"),
                40..=69 => format!("{}{m}号仓库", self.rng.pick(town.parks)),
                _ => format!("{road}{n}号之{cn}"),
            },
            _ => match style {
                0..=19 => format!("{road}{n}号首层"),
                20..=44 => format!("{road}{n}号首层之{cn}"),
                45..=59 => format!("{road}{n}号{}座{m}号铺", 1 + m % 12),
                60..=74 => format!("{road}{n}号之{cn}"),
                75..=84 => format!("{road}{n}号首层{m}号铺"),
                _ => format!("{road}{n}号"),
            },
        };
        a.push_str(&rest);
        if self.rng.chance_per_mille(120) {
            a.push_str("（住所申报）");
        }
        a
    }

    /// Uniform on the 1e-7 grid, strictly inside `(min, max)`; the midpoint if there is no such
    /// grid point.
    fn coordinate(&mut self, min: f64, max: f64) -> f64 {
        const SCALE: f64 = 1e7;
        let mut lo = ((min * SCALE).floor() as i64).saturating_add(1);
        let mut hi = ((max * SCALE).ceil() as i64).saturating_sub(1);
        while (lo as f64) / SCALE <= min {
            lo += 1;
        }
        while (hi as f64) / SCALE >= max {
            hi -= 1;
        }
        if hi < lo {
            return (min + max) / 2.0;
        }
        self.rng.range(lo, hi) as f64 / SCALE
    }

    fn licences(
        &mut self,
        uscc: &str,
        trade: &Trade,
        enterprise_status: &'static str,
        registered: NaiveDate,
    ) -> Vec<GeneratedLicence> {
        let mut out = Vec::with_capacity(3);
        out.push(GeneratedLicence {
            uscc: uscc.to_string(),
            kind: "business_licence",
            number: uscc.to_string(),
            valid_from: registered,
            valid_to: NO_END_DATE,
            status: licence_status(enterprise_status, false),
        });
        if self.rng.chance_per_mille(trade.food_business_pm) {
            let form_index = JY_FORMS
                .iter()
                .position(|&f| f == trade.jy_form)
                .unwrap_or(0);
            let (i, v) = take(&mut self.jy, form_index, "food business licence");
            let number = format!("JY{}440605{v:07}", JY_FORMS[i]);
            // About 6% expired: only an enterprise older than one term can hold an expired
            // licence, so one that is wanted on a young enterprise is owed to the next old one.
            let latest_expired_start = add_years(self.today, -5);
            let eligible = registered <= latest_expired_start;
            let wanted = self.rng.chance_per_mille(60);
            let expired = eligible && (wanted || self.expired_owed > 0);
            if expired && !wanted {
                self.expired_owed -= 1;
            } else if wanted && !eligible {
                self.expired_owed += 1;
            }
            let from = if expired {
                let earliest = registered.max(add_years(self.today, -8));
                self.day_between(earliest, latest_expired_start)
            } else {
                self.current_term_start(registered, 5)
            };
            out.push(self.licence(uscc, "food_business", number, from, 5, enterprise_status));
        }
        if !trade.sc_categories.is_empty() {
            let category = *self.rng.pick(trade.sc_categories);
            let preferred = SC_CATEGORIES
                .iter()
                .position(|&c| c == category)
                .unwrap_or(0);
            let (i, v) = take(&mut self.sc, preferred, "food production licence");
            let number = format!("SC{}440605{v:05}", SC_CATEGORIES[i]);
            let from = self.current_term_start(registered, 5);
            out.push(self.licence(uscc, "food_production", number, from, 5, enterprise_status));
        }
        if self.rng.chance_per_mille(trade.tobacco_pm) {
            let (i, v) = take(&mut self.tobacco, 0, "tobacco retail licence");
            let number = format!("{}{v:06}", TOBACCO_PREFIXES[i]);
            let from = self.current_term_start(registered, 5);
            out.push(self.licence(uscc, "tobacco_retail", number, from, 5, enterprise_status));
        }
        if trade.hygiene {
            let (i, v) = take(&mut self.hygiene, 0, "hygiene licence");
            let from = self.current_term_start(registered, 4);
            let number = format!(
                "粤卫公证字[{}]第{}{v:06}号",
                from.year(),
                HYGIENE_PREFIXES[i]
            );
            out.push(self.licence(uscc, "hygiene", number, from, 4, enterprise_status));
        }
        out
    }

    /// Uniform in `first..=last`; `first` when that is empty.
    fn day_between(&mut self, first: NaiveDate, last: NaiveDate) -> NaiveDate {
        first + Days::new(self.rng.range(0, (last - first).num_days()) as u64)
    }

    /// First day of a term of `years` that covers today, not before registration.
    fn current_term_start(&mut self, registered: NaiveDate, years: i32) -> NaiveDate {
        let earliest = registered.max(add_years(self.today, -years) + Days::new(1));
        let from = self.day_between(earliest, self.today);
        // 29 February can shorten a term by a day; never let a "current" term end before today.
        if term_end(from, years) < self.today {
            self.today
        } else {
            from
        }
    }

    fn licence(
        &self,
        uscc: &str,
        kind: &'static str,
        number: String,
        from: NaiveDate,
        years: i32,
        enterprise_status: &'static str,
    ) -> GeneratedLicence {
        let to = term_end(from, years);
        GeneratedLicence {
            uscc: uscc.to_string(),
            kind,
            number,
            valid_from: from,
            valid_to: to,
            status: licence_status(enterprise_status, to < self.today),
        }
    }
}

/// A revoked (吊销) or cancelled (注销) enterprise's licences are revoked; otherwise a licence past
/// its term is expired, and a suspended enterprise's current licences are suspended.
fn licence_status(enterprise_status: &str, past_term: bool) -> &'static str {
    match enterprise_status {
        "revoked" | "cancelled" => "revoked",
        _ if past_term => "expired",
        "suspended" => "suspended",
        _ => "valid",
    }
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;
    use crate::licences::numbers::{resident_id_valid, FoodBusinessNo, FoodProductionNo, Uscc};
    use std::collections::{HashMap, HashSet};

    const TODAY: NaiveDate = ymd(2026, 3, 15);

    /// Cells shaped like the demo map: three towns, three communities each, a few cells each, plus
    /// one cell in a town we have no names for.
    fn areas() -> Vec<Area> {
        let mut out = Vec::new();
        for (t, town) in ["011", "125", "126"].iter().enumerate() {
            for c in 1..=3 {
                for cell in 1..=4 {
                    let lon = 113.10 + t as f64 * 0.05 + f64::from(cell) * 0.004;
                    let lat = 23.02 + f64::from(c) * 0.01;
                    out.push(Area {
                        cell_code: format!("440605{town}{c:03}{cell:02}"),
                        min_lon: lon,
                        min_lat: lat,
                        max_lon: lon + 0.0035,
                        max_lat: lat + 0.0021,
                    });
                }
            }
        }
        out.push(Area {
            cell_code: "44060510200101".into(),
            min_lon: 112.9,
            min_lat: 23.1,
            max_lon: 112.9003,
            max_lat: 23.1002,
        });
        out
    }

    fn csv(lib: &[(GeneratedEnterprise, Vec<GeneratedLicence>)]) -> (String, String) {
        let (mut e, mut l) = (Vec::new(), Vec::new());
        write_csv(lib, &mut e, &mut l).unwrap();
        (String::from_utf8(e).unwrap(), String::from_utf8(l).unwrap())
    }

    /// The committed demo library is `gridpatrol generate --count 2400 --seed 7 --today
    /// 2026-11-28` over the demo map: regenerating it must give the same bytes.
    #[test]
    fn regenerates_the_committed_demo_library() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("map.sqlite").display().to_string();
        let pool = crate::db::Pool::open(&path, 1).unwrap();
        pool.migrate().unwrap();
        let mut conn = pool.get().unwrap();
        crate::import::map(&mut conn, crate::demo::MAP).unwrap();
        let areas = cell_areas(&mut conn).unwrap();
        let (e, l) = csv(&generate(7, 2400, &areas, ymd(2026, 11, 28)));
        assert!(e == crate::demo::ENTERPRISES, "enterprises.csv differs");
        assert!(l == crate::demo::LICENCES, "licences.csv differs");
    }

    #[test]
    fn deterministic_and_seed_dependent() {
        let a = areas();
        let one = csv(&generate(7, 3000, &a, TODAY));
        let two = csv(&generate(7, 3000, &a, TODAY));
        assert_eq!(one, two);
        let other = csv(&generate(8, 3000, &a, TODAY));
        assert_ne!(one.0, other.0);
        // A smaller library is the start of a larger one.
        let small = csv(&generate(7, 1000, &a, TODAY));
        assert!(one.0.starts_with(&small.0));
        assert!(one.1.starts_with(&small.1));
        assert!(generate(7, 0, &[], TODAY).is_empty());
    }

    #[test]
    fn usccs_parse_with_the_right_entity_type() {
        let lib = generate(1, 20_000, &areas(), TODAY);
        let (mut individuals, mut old_style) = (0, 0);
        for (e, _) in &lib {
            let u = Uscc::parse(&e.uscc).unwrap_or_else(|err| panic!("{}: {err}", e.uscc));
            assert_eq!(u.as_str(), e.uscc);
            assert_eq!(u.authority(), '9');
            assert_eq!(u.division_code(), "440605");
            let individual = u.entity_type() == '2';
            assert!(individual || u.entity_type() == '1');
            assert_eq!(e.name.ends_with("有限公司"), !individual, "{}", e.name);
            if e.name.ends_with("（个体工商户）") {
                assert!(individual);
            }
            if e.registered_on >= SUFFIX_START && individual {
                assert!(e.name.ends_with("（个体工商户）"), "{}", e.name);
            }
            if u.org_code().starts_with("MA") {
                assert!(matches!(u.org_code().as_bytes()[2], b'4' | b'5' | b'C'));
            } else {
                old_style += 1;
                assert!(!individual && e.registered_on < USCC_START);
            }
            individuals += usize::from(individual);
        }
        let share = individuals as f64 / lib.len() as f64;
        assert!((0.55..0.8).contains(&share), "individual share {share}");
        assert!(old_style > 0);
    }

    #[test]
    fn people_phones_dates() {
        let lib = generate(2, 20_000, &areas(), TODAY);
        for (e, _) in &lib {
            assert!(
                resident_id_valid(&e.legal_rep_id_number),
                "{}",
                e.legal_rep_id_number
            );
            let id = &e.legal_rep_id_number;
            assert!(id.starts_with("4406"));
            let born = NaiveDate::parse_from_str(&id[6..14], "%Y%m%d")
                .unwrap_or_else(|_| panic!("{id}: no birth date"));
            assert!((BORN_FROM..=BORN_TO).contains(&born), "{id}");
            // At least 18 when registering.
            assert!(
                born <= add_years(e.registered_on, -18),
                "{id} {}",
                e.registered_on
            );
            let n = e.legal_representative.chars().count();
            assert!((2..=4).contains(&n), "{}", e.legal_representative);

            assert_eq!(e.phone.len(), 11);
            assert!(e.phone.bytes().all(|b| b.is_ascii_digit()));
            assert!(
                matches!(&e.phone[..2], "13" | "15" | "18" | "19"),
                "{}",
                e.phone
            );

            assert!((FIRST_REGISTRATION..=TODAY).contains(&e.registered_on));
            assert!(e.name.starts_with("佛山市") || e.name.contains("有限公司"));
        }
    }

    #[test]
    fn names_rarely_repeat_and_addresses_follow_the_town() {
        let a = areas();
        let lib = generate(3, 2000, &a, TODAY);
        let names: HashSet<&str> = lib.iter().map(|(e, _)| e.name.as_str()).collect();
        assert!(
            names.len() >= 1960,
            "{} distinct names of 2000",
            names.len()
        );
        for (i, (e, _)) in lib.iter().enumerate() {
            let code = &a[i % a.len()].cell_code;
            let expected = match &code[6..9] {
                "011" => "佛山市南海区桂城街道",
                "125" => "佛山市南海区大沥镇",
                "126" => "佛山市南海区里水镇",
                _ => "佛山市南海区",
            };
            assert!(e.address.starts_with(expected), "{code} {}", e.address);
            if expected == "佛山市南海区" {
                assert!(!e.address.contains("街道") && !e.address.contains("镇"));
            }
        }
        // The brief's three examples are the kinds of names made.
        assert!(names.iter().any(|n| n.contains("便利店")));
        assert!(names.iter().any(|n| n.contains("五金店（个体工商户）")));
        assert!(names.iter().any(|n| n.contains("铝型材有限公司")));
    }

    #[test]
    fn status_mix() {
        let lib = generate(4, 40_000, &areas(), TODAY);
        let mut counts: HashMap<&str, usize> = HashMap::new();
        for (e, _) in &lib {
            *counts.entry(e.status).or_default() += 1;
        }
        let share = |s: &str| counts.get(s).copied().unwrap_or(0) as f64 / lib.len() as f64;
        assert!((share("active") - 0.90).abs() < 0.01, "{counts:?}");
        assert!((share("revoked") - 0.04).abs() < 0.006, "{counts:?}");
        assert!((share("cancelled") - 0.04).abs() < 0.006, "{counts:?}");
        assert!((share("suspended") - 0.02).abs() < 0.005, "{counts:?}");
        assert_eq!(counts.len(), 4);
    }

    #[test]
    fn points_strictly_inside_their_area_as_printed() {
        let a = areas();
        let lib = generate(5, 10_000, &a, TODAY);
        let (text, _) = csv(&lib);
        let mut reader = ::csv::Reader::from_reader(text.as_bytes());
        let rows = reader.records().map(Result::unwrap);
        for (i, ((e, _), fields)) in lib.iter().zip(rows).enumerate() {
            let area = &a[i % a.len()];
            let (lon, lat): (f64, f64) = (fields[6].parse().unwrap(), fields[7].parse().unwrap());
            assert_eq!((lon, lat), (e.lon, e.lat), "1e-7 grid survives printing");
            assert_eq!(fields[6].split('.').nth(1).unwrap().len(), 7);
            assert!(
                area.min_lon < lon && lon < area.max_lon,
                "{lon} in {area:?}"
            );
            assert!(
                area.min_lat < lat && lat < area.max_lat,
                "{lat} in {area:?}"
            );
        }
        // Boxes whose edges are not on the grid, and a box narrower than the grid.
        let odd = Area {
            cell_code: "44060501100101".into(),
            min_lon: 113.123_456_78,
            min_lat: 23.1,
            max_lon: 113.123_457_01,
            max_lat: 23.100_000_3,
        };
        for (e, _) in generate(6, 500, std::slice::from_ref(&odd), TODAY) {
            assert!(odd.min_lon < e.lon && e.lon < odd.max_lon, "{}", e.lon);
            assert!(odd.min_lat < e.lat && e.lat < odd.max_lat, "{}", e.lat);
        }
    }

    #[test]
    fn licences_follow_the_rules() {
        let lib = generate(9, 40_000, &areas(), TODAY);
        let mut food = 0usize;
        let mut food_expired = 0usize;
        let mut kinds: HashMap<&str, usize> = HashMap::new();
        let mut place: HashMap<&str, (usize, usize, usize)> = HashMap::new();
        for (e, lics) in &lib {
            let first = &lics[0];
            assert_eq!(
                (first.kind, first.number.as_str(), first.valid_from),
                ("business_licence", e.uscc.as_str(), e.registered_on)
            );
            assert_eq!(
                lics.iter().filter(|l| l.kind == "business_licence").count(),
                1
            );
            let has = |k: &str| lics.iter().any(|l| l.kind == k);
            let p = place.entry(e.place_kind).or_default();
            p.0 += 1;
            p.1 += usize::from(has("food_business"));
            p.2 += usize::from(has("tobacco_retail"));
            if e.place_kind == RESTAURANT {
                assert!(has("food_business"), "{}", e.name);
            }
            for l in lics {
                *kinds.entry(l.kind).or_default() += 1;
                assert_eq!(l.uscc, e.uscc);
                assert!(l.valid_from <= l.valid_to);
                assert!(l.valid_from >= e.registered_on, "{l:?} {e:?}");
                let past = l.valid_to < TODAY;
                let expected = match e.status {
                    "revoked" | "cancelled" => "revoked",
                    _ if past => "expired",
                    "suspended" => "suspended",
                    _ => "valid",
                };
                assert_eq!(l.status, expected, "{l:?} {e:?}");
                match l.kind {
                    "food_business" => {
                        assert!(FoodBusinessNo::parse(&l.number).is_ok(), "{}", l.number);
                        assert!(matches!(
                            &l.number[..9],
                            "JY1440605" | "JY2440605" | "JY3440605"
                        ));
                        food += 1;
                        food_expired += usize::from(past);
                    }
                    "food_production" => {
                        assert!(FoodProductionNo::parse(&l.number).is_ok(), "{}", l.number);
                        assert_eq!(&l.number[5..11], "440605");
                        assert!(matches!(e.place_kind, FACTORY | WORKSHOP));
                        assert!(!past);
                    }
                    "tobacco_retail" => {
                        assert_eq!(l.number.len(), 12);
                        assert!(l.number.starts_with("440605"));
                        assert!(!past);
                    }
                    "hygiene" => {
                        assert!(l.number.starts_with("粤卫公证字["), "{}", l.number);
                        assert_eq!(e.place_kind, SHOP);
                        assert!(!past);
                    }
                    "business_licence" => assert_eq!(l.valid_to, NO_END_DATE),
                    other => panic!("kind {other}"),
                }
            }
        }
        let expired = food_expired as f64 / food as f64;
        assert!(
            (expired - 0.06).abs() < 0.01,
            "expired food licences {expired}"
        );
        let share = |k: &str, f: fn(&(usize, usize, usize)) -> usize| {
            let p = &place[k];
            f(p) as f64 / p.0 as f64
        };
        let shop_food = share(SHOP, |p| p.1);
        assert!(
            (0.4..0.6).contains(&shop_food),
            "shops with food licence {shop_food}"
        );
        let market_food = share(MARKET, |p| p.1);
        assert!(
            (0.35..0.65).contains(&market_food),
            "markets with food licence {market_food}"
        );
        let shop_tobacco = share(SHOP, |p| p.2);
        assert!(
            (0.25..0.35).contains(&shop_tobacco),
            "shops with tobacco {shop_tobacco}"
        );
        let hygiene = kinds["hygiene"] as f64 / lib.len() as f64;
        assert!((0.06..0.12).contains(&hygiene), "hygiene share {hygiene}");
        let makers: usize = place[FACTORY].0 + place[WORKSHOP].0;
        let production = kinds["food_production"] as f64 / makers as f64;
        assert!(
            (0.07..0.13).contains(&production),
            "food production {production}"
        );
    }

    #[test]
    fn unique_numbers_at_300k_and_fast() {
        let a = areas();
        let start = std::time::Instant::now();
        let lib = generate(42, 300_000, &a, TODAY);
        let elapsed = start.elapsed();
        let mut usccs = HashSet::with_capacity(lib.len());
        let mut numbers = HashSet::with_capacity(lib.len() * 2);
        for (e, lics) in &lib {
            assert!(usccs.insert(e.uscc.as_str()), "repeated USCC {}", e.uscc);
            for l in lics {
                assert!(numbers.insert(l.number.as_str()), "repeated {}", l.number);
            }
        }
        eprintln!("generated 300,000 enterprises in {elapsed:?}");
        if !cfg!(debug_assertions) {
            assert!(elapsed.as_secs_f64() < 2.0, "{elapsed:?}");
        }
    }

    #[test]
    #[ignore = "1,000,000 enterprises; run with --release --ignored"]
    fn unique_usccs_at_a_million() {
        let lib = generate(43, 1_000_000, &areas(), TODAY);
        let mut seen = HashSet::with_capacity(lib.len() * 2);
        for (e, lics) in &lib {
            assert!(seen.insert(e.uscc.clone()));
            for l in &lics[1..] {
                assert!(seen.insert(l.number.clone()), "repeated {}", l.number);
            }
        }
    }

    #[test]
    fn csv_quoting_and_columns() {
        let lib = generate(10, 1, &areas(), TODAY);
        let (mut e, mut l) = lib[0].clone();
        e.name = "佛山市南海区桂城\"好味\"茶餐厅,分店".into();
        e.address = "灯湖东路1号\n首层".into();
        l.truncate(1);
        l[0].number = "A,B".into();
        let (enterprises, licences) = csv(&[(e.clone(), l.clone())]);
        let (header, row) = enterprises.split_once('\n').unwrap();
        assert_eq!(header, ENTERPRISE_COLUMNS.join(","));
        assert!(row.starts_with(&format!("{},", e.uscc)), "{row}");
        assert!(
            row.contains(",\"佛山市南海区桂城\"\"好味\"\"茶餐厅,分店\","),
            "{row}"
        );
        assert!(row.contains(",\"灯湖东路1号\n首层\","), "{row}");
        assert!(row.ends_with(&format!(",{},{}\n", e.registered_on, e.place_kind)));
        assert_eq!(
            licences,
            format!(
                "uscc,kind,number,valid_from,valid_to,status\n\
                 {0},business_licence,\"A,B\",{1},9999-12-31,{2}\n",
                e.uscc, l[0].valid_from, l[0].status
            )
        );
        // An empty library is two headers.
        let (enterprises, licences) = csv(&[]);
        assert_eq!(enterprises, format!("{}\n", ENTERPRISE_COLUMNS.join(",")));
        assert_eq!(licences, format!("{}\n", LICENCE_COLUMNS.join(",")));
    }

    #[test]
    fn dates() {
        assert_eq!(add_years(ymd(2024, 2, 29), 5), ymd(2029, 2, 28));
        assert_eq!(add_years(ymd(2024, 2, 29), -4), ymd(2020, 2, 29));
        assert_eq!(add_years(ymd(2024, 2, 29), -1), ymd(2023, 2, 28));
        assert_eq!(term_end(ymd(2021, 3, 2), 5), ymd(2026, 3, 1));
        assert_eq!(NO_END_DATE.to_string(), "9999-12-31");
        // A today before 1998 still gives dates in range.
        for (e, lics) in generate(11, 200, &areas(), ymd(1997, 6, 1)) {
            assert_eq!(e.registered_on, ymd(1997, 6, 1));
            assert!(lics.iter().all(|l| l.status != "expired"));
        }
    }
}
