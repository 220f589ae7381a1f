//! Reference lists the demo lake draws from: cities, names, merchant categories,
//! mall products, planted basket rules and campaigns.

/// A city: province, city, tier (1 = first-tier … 5 = fourth-tier and below),
/// the 6-digit administrative code of a district (the first 6 digits of a resident ID),
/// and a sampling weight (share of customers, percent).
pub struct City {
    pub province: &'static str,
    pub city: &'static str,
    pub tier: i32,
    pub area_code: &'static str,
    pub weight: f64,
}

const fn city(province: &'static str, city: &'static str, tier: i32, area_code: &'static str, weight: f64) -> City {
    City { province, city, tier, area_code, weight }
}

pub const CITIES: &[City] = &[
    city("北京", "北京", 1, "110105", 5.5),
    city("上海", "上海", 1, "310115", 5.5),
    city("广东", "广州", 1, "440106", 4.5),
    city("广东", "深圳", 1, "440305", 4.5),
    city("四川", "成都", 2, "510107", 4.0),
    city("重庆", "重庆", 2, "500103", 3.5),
    city("浙江", "杭州", 2, "330106", 3.5),
    city("湖北", "武汉", 2, "420106", 3.5),
    city("陕西", "西安", 2, "610113", 3.0),
    city("江苏", "苏州", 2, "320505", 3.0),
    city("江苏", "南京", 2, "320106", 3.0),
    city("天津", "天津", 2, "120101", 2.5),
    city("河南", "郑州", 2, "410105", 3.0),
    city("湖南", "长沙", 2, "430104", 2.5),
    city("广东", "东莞", 2, "441900", 2.5),
    city("山东", "青岛", 2, "370202", 2.0),
    city("安徽", "合肥", 2, "340104", 2.0),
    city("广东", "佛山", 2, "440604", 2.0),
    city("浙江", "宁波", 2, "330203", 2.0),
    city("辽宁", "沈阳", 2, "210102", 1.5),
    city("山东", "济南", 3, "370102", 1.5),
    city("福建", "厦门", 3, "350203", 1.5),
    city("福建", "福州", 3, "350102", 1.5),
    city("云南", "昆明", 3, "530102", 1.5),
    city("江西", "南昌", 3, "360102", 1.5),
    city("广西", "南宁", 3, "450102", 1.5),
    city("黑龙江", "哈尔滨", 3, "230102", 1.5),
    city("河北", "石家庄", 3, "130102", 1.5),
    city("山西", "太原", 3, "140105", 1.0),
    city("贵州", "贵阳", 3, "520102", 1.0),
    city("吉林", "长春", 3, "220102", 1.0),
    city("河南", "洛阳", 4, "410302", 1.5),
    city("江苏", "徐州", 4, "320302", 1.5),
    city("四川", "绵阳", 4, "510703", 1.0),
    city("山东", "临沂", 4, "371302", 1.5),
    city("广东", "湛江", 5, "440802", 1.0),
    city("湖南", "衡阳", 5, "430405", 1.0),
    city("河北", "邯郸", 5, "130402", 1.0),
    city("安徽", "阜阳", 5, "341202", 1.0),
    city("贵州", "遵义", 5, "520302", 1.0),
    city("江西", "赣州", 5, "360702", 1.0),
    city("云南", "曲靖", 5, "530302", 0.5),
    city("甘肃", "天水", 5, "620502", 0.5),
];

/// Common surnames with their pinyin (used for e-mail user names).
pub const SURNAMES: &[(&str, &str)] = &[
    ("王", "wang"),
    ("李", "li"),
    ("张", "zhang"),
    ("刘", "liu"),
    ("陈", "chen"),
    ("杨", "yang"),
    ("黄", "huang"),
    ("赵", "zhao"),
    ("吴", "wu"),
    ("周", "zhou"),
    ("徐", "xu"),
    ("孙", "sun"),
    ("马", "ma"),
    ("朱", "zhu"),
    ("胡", "hu"),
    ("郭", "guo"),
    ("何", "he"),
    ("高", "gao"),
    ("林", "lin"),
    ("罗", "luo"),
    ("郑", "zheng"),
    ("梁", "liang"),
    ("谢", "xie"),
    ("宋", "song"),
];

pub const GIVEN_NAME_CHARS: &[&str] = &[
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超", "秀", "霞",
    "平", "刚", "桂", "英", "华", "玉", "萍", "红", "鹏", "辉", "婷", "宇", "浩", "欣", "怡", "子", "轩", "涵", "梓",
    "晨", "佳",
];

/// Mobile number prefixes of the three carriers (three digits, then eight random digits).
pub const MOBILE_PREFIXES: &[&str] = &[
    "134", "135", "136", "137", "138", "139", "150", "151", "152", "157", "158", "159", "182", "183", "187", "188",
    "198", "130", "131", "132", "155", "156", "166", "185", "186", "133", "153", "173", "177", "180", "181", "189",
    "191", "199",
];

pub const EMAIL_DOMAINS: &[(&str, f64)] = &[
    ("qq.com", 45.0),
    ("163.com", 22.0),
    ("126.com", 9.0),
    ("sina.com", 5.0),
    ("foxmail.com", 6.0),
    ("gmail.com", 6.0),
    ("outlook.com", 7.0),
];

pub const INCOME_BANDS: &[&str] = &["<5k", "5k-10k", "10k-20k", "20k-50k", "50k+"];

/// Upper bounds (RMB per month) of the income bands but the last.
pub const INCOME_BAND_LIMITS: &[f64] = &[5_000.0, 10_000.0, 20_000.0, 50_000.0];

pub const OCCUPATIONS: &[(&str, f64)] = &[
    ("salaried", 46.0),
    ("blue_collar", 15.0),
    ("self_employed", 12.0),
    ("freelancer", 10.0),
    ("civil_servant", 6.0),
    ("student", 7.0),
    ("retired", 4.0),
];

pub const ACQUISITION_CHANNELS: &[(&str, f64)] = &[
    ("app_store", 25.0),
    ("wechat", 20.0),
    ("douyin", 18.0),
    ("partner_ecommerce", 15.0),
    ("offline_branch", 12.0),
    ("referral", 10.0),
];

/// Merchant categories: name, share of transactions (percent), median amount (RMB), and
/// the share paid in store (POS); the rest is paid online (see `ONLINE_CHANNELS`).
pub const MERCHANT_CATEGORIES: &[(&str, f64, f64, f64)] = &[
    ("groceries", 24.0, 65.0, 0.45),
    ("dining", 22.0, 85.0, 0.50),
    ("digital_services", 12.0, 30.0, 0.0),
    ("apparel", 9.0, 260.0, 0.25),
    ("entertainment", 7.0, 120.0, 0.30),
    ("health", 5.0, 180.0, 0.40),
    ("home", 6.0, 420.0, 0.20),
    ("electronics", 6.0, 1_300.0, 0.20),
    ("education", 4.0, 900.0, 0.05),
    ("travel", 5.0, 1_600.0, 0.10),
];

/// Online payment channels and their weights; in-store payments use the channel `pos`.
pub const ONLINE_CHANNELS: &[(&str, f64)] = &[("app", 55.0), ("wechat_mini", 30.0), ("online", 15.0)];

/// Relative transaction volume by calendar month (January = index 0): the pre-Spring-Festival
/// peak, the 618 festival in June, Golden Week in October and Double 11 in November.
pub const SEASONALITY: [f64; 12] = [1.15, 0.85, 0.95, 0.95, 1.0, 1.25, 0.95, 0.95, 1.0, 1.1, 1.6, 1.2];

/// Products of the instalment mall: item, category, list price (RMB), popularity weight.
pub const PRODUCTS: &[(&str, &str, f64, f64)] = &[
    ("iphone_16", "phones", 5_999.0, 30.0),
    ("huawei_mate_70", "phones", 5_499.0, 24.0),
    ("xiaomi_15", "phones", 3_999.0, 22.0),
    ("oppo_reno_13", "phones", 2_699.0, 14.0),
    ("phone_case", "phone_accessories", 59.0, 18.0),
    ("screen_protector", "phone_accessories", 39.0, 16.0),
    ("fast_charger", "phone_accessories", 129.0, 14.0),
    ("power_bank", "phone_accessories", 149.0, 16.0),
    ("wireless_earbuds", "audio", 899.0, 22.0),
    ("bluetooth_speaker", "audio", 399.0, 9.0),
    ("laptop_thinkpad", "computers", 6_999.0, 14.0),
    ("macbook_air", "computers", 8_999.0, 12.0),
    ("wireless_mouse", "computer_accessories", 129.0, 10.0),
    ("usb_c_hub", "computer_accessories", 199.0, 8.0),
    ("laptop_bag", "computer_accessories", 249.0, 8.0),
    ("monitor_27in", "computers", 1_599.0, 9.0),
    ("game_console", "gaming", 3_499.0, 10.0),
    ("game_controller", "gaming", 399.0, 8.0),
    ("smart_watch", "wearables", 1_999.0, 14.0),
    ("fitness_band", "wearables", 249.0, 13.0),
    ("robot_vacuum", "home_appliances", 2_999.0, 10.0),
    ("air_purifier", "home_appliances", 1_899.0, 9.0),
    ("air_fryer", "home_appliances", 399.0, 16.0),
    ("rice_cooker", "home_appliances", 499.0, 12.0),
    ("refrigerator", "home_appliances", 4_599.0, 6.0),
    ("washing_machine", "home_appliances", 3_299.0, 6.0),
    ("lipstick", "beauty", 320.0, 18.0),
    ("face_serum", "beauty", 680.0, 14.0),
    ("sunscreen", "beauty", 180.0, 14.0),
    ("facial_mask", "beauty", 129.0, 18.0),
    ("infant_formula", "mother_baby", 368.0, 10.0),
    ("diapers", "mother_baby", 169.0, 11.0),
    ("baby_wipes", "mother_baby", 49.0, 9.0),
    ("running_shoes", "sports", 699.0, 15.0),
    ("yoga_mat", "sports", 129.0, 9.0),
    ("suitcase", "travel", 799.0, 8.0),
    ("travel_pillow", "travel", 89.0, 6.0),
    ("coffee_beans", "groceries", 128.0, 14.0),
    ("nuts_gift_box", "groceries", 199.0, 15.0),
    ("tea_gift_box", "groceries", 399.0, 10.0),
    ("ebook_reader", "education", 999.0, 6.0),
    ("online_course_english", "education", 1_999.0, 7.0),
];

/// Share of customers with a favourite mall category (their taste), drawn uniformly from the
/// categories of [`PRODUCTS`].
pub const TASTE_SHARE: f64 = 0.8;

/// Probability that an order of a customer with a taste starts with an item of that category
/// (by popularity within it); the order's other items are drawn by overall popularity, so the
/// taste links a customer's orders over time without adding associations inside a basket.
pub const TASTE_ANCHOR: f64 = 0.7;

/// A planted association: when every antecedent item is in a basket, each consequent
/// item is added with `probability` (rules apply in order, so they chain).
pub struct PlantedRule {
    pub antecedent: &'static [&'static str],
    pub consequent: &'static [&'static str],
    pub probability: f64,
}

pub const PLANTED_RULES: &[PlantedRule] = &[
    PlantedRule { antecedent: &["iphone_16"], consequent: &["phone_case"], probability: 0.55 },
    PlantedRule { antecedent: &["laptop_thinkpad"], consequent: &["wireless_mouse"], probability: 0.45 },
    PlantedRule { antecedent: &["game_console"], consequent: &["game_controller"], probability: 0.60 },
    PlantedRule { antecedent: &["diapers"], consequent: &["baby_wipes"], probability: 0.50 },
    PlantedRule { antecedent: &["face_serum"], consequent: &["sunscreen"], probability: 0.40 },
    PlantedRule { antecedent: &["macbook_air"], consequent: &["usb_c_hub"], probability: 0.50 },
    PlantedRule { antecedent: &["macbook_air", "usb_c_hub"], consequent: &["laptop_bag"], probability: 0.50 },
];

/// The age band that campaign uplift depends on, as SQL over the customers table
/// (the age the customer turns in the lake's first year).
pub const AGE_BANDS: [&str; 3] = ["<30", "30-44", "45+"];

/// A campaign template: name, channel, cost per contact (RMB), share of eligible
/// customers targeted, control (holdout) share, conversion rate of the control group
/// by age band, and the planted uplift (treatment minus control conversion probability)
/// by age band. Campaigns run for 14 days.
pub struct CampaignTemplate {
    pub name: &'static str,
    /// Calendar month and day the campaign starts (the first such date in the lake).
    pub start: (u32, u32),
    pub channel: &'static str,
    pub cost_per_contact: f64,
    pub target_share: f64,
    pub control_share: f64,
    pub base_rate: [f64; 3],
    pub uplift: [f64; 3],
}

pub const CAMPAIGNS: &[CampaignTemplate] = &[
    CampaignTemplate {
        name: "Spring Festival cash-back",
        start: (1, 10),
        channel: "sms",
        cost_per_contact: 0.05,
        target_share: 0.45,
        control_share: 0.10,
        base_rate: [0.030, 0.035, 0.030],
        uplift: [0.010, 0.015, 0.010],
    },
    CampaignTemplate {
        name: "Credit line upgrade",
        start: (3, 1),
        channel: "call",
        cost_per_contact: 3.00,
        target_share: 0.25,
        control_share: 0.15,
        base_rate: [0.040, 0.050, 0.045],
        uplift: [-0.010, 0.030, 0.060],
    },
    CampaignTemplate {
        name: "618 interest-free instalments",
        start: (6, 1),
        channel: "push",
        cost_per_contact: 0.01,
        target_share: 0.55,
        control_share: 0.10,
        base_rate: [0.050, 0.040, 0.020],
        uplift: [0.045, 0.020, 0.000],
    },
    CampaignTemplate {
        name: "Wealth app onboarding",
        start: (7, 15),
        channel: "email",
        cost_per_contact: 0.005,
        target_share: 0.40,
        control_share: 0.20,
        base_rate: [0.015, 0.020, 0.025],
        uplift: [0.000, 0.000, 0.000],
    },
    CampaignTemplate {
        name: "Golden Week travel voucher",
        start: (9, 20),
        channel: "push",
        cost_per_contact: 0.01,
        target_share: 0.50,
        control_share: 0.10,
        base_rate: [0.035, 0.030, 0.020],
        uplift: [0.030, 0.025, 0.005],
    },
    CampaignTemplate {
        name: "Double 11 coupon",
        start: (11, 1),
        channel: "sms",
        cost_per_contact: 0.05,
        target_share: 0.60,
        control_share: 0.10,
        base_rate: [0.060, 0.050, 0.030],
        uplift: [0.040, 0.030, 0.015],
    },
    CampaignTemplate {
        name: "Dormant customer win-back",
        start: (8, 10),
        channel: "call",
        cost_per_contact: 3.00,
        target_share: 0.20,
        control_share: 0.20,
        base_rate: [0.010, 0.012, 0.015],
        uplift: [0.005, 0.020, 0.035],
    },
    CampaignTemplate {
        name: "Year-end bill instalment",
        start: (12, 5),
        channel: "push",
        cost_per_contact: 0.01,
        target_share: 0.50,
        control_share: 0.10,
        base_rate: [0.040, 0.045, 0.035],
        uplift: [0.020, 0.020, 0.020],
    },
];

/// Share of treated contacts who open (SMS: delivered and read; call: answered) and who
/// click once opened, by channel.
pub fn open_click_rates(channel: &str) -> (f64, f64) {
    match channel {
        "sms" => (0.85, 0.08),
        "push" => (0.35, 0.20),
        "email" => (0.22, 0.15),
        _ => (0.60, 0.30), // call: answered, then accepted a follow-up
    }
}
