//! Per-marketplace data for the generator: charset, language, names, places, taxes, prices, carriers, time zones.
//!
//! Every string here must be encodable in its marketplace's report charset (a unit test checks), because Amazon
//! writes Cp1252 and CP932 documents and a name it cannot encode would never reach a real report.

use super::marketplaces::Marketplace;
use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, Offset, TimeZone, Utc, Weekday};

/// The character set a report document is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Charset {
    /// Windows-1252: NA and the Western-European marketplaces.
    Cp1252,
    /// Windows-31J (Shift_JIS with Microsoft's extensions): Japan.
    Cp932,
    /// UTF-8: every other marketplace, XML reports and reports spanning marketplaces of different charsets.
    Utf8,
    /// ISO-8859-1: XML order reports of some Western sellers (written with Windows-1252's table, which
    /// differs only where ISO-8859-1 has control characters).
    Latin1,
}

impl Charset {
    /// The charset of a marketplace's flat-file reports.
    pub(crate) fn of(marketplace: &Marketplace) -> Self {
        match marketplace.country {
            "US" | "CA" | "MX" | "BR" | "GB" | "DE" | "FR" | "IT" | "ES" | "NL" | "SE" | "IE" | "BE" => {
                Charset::Cp1252
            }
            "JP" => Charset::Cp932,
            _ => Charset::Utf8,
        }
    }

    /// The charset of a report covering `marketplaces`: theirs when they agree, UTF-8 when they do not.
    pub(crate) fn of_all<'a>(marketplaces: impl IntoIterator<Item = &'a Marketplace>) -> Self {
        let mut charsets = marketplaces.into_iter().map(Charset::of);
        let first = charsets.next().unwrap_or(Charset::Utf8);
        if charsets.all(|c| c == first) {
            first
        } else {
            Charset::Utf8
        }
    }

    /// The label in the document's `Content-Type` (`text/plain; charset=Cp1252`).
    pub(crate) fn label(self) -> &'static str {
        match self {
            Charset::Cp1252 => "Cp1252",
            Charset::Cp932 => "CP932",
            Charset::Utf8 => "UTF-8",
            Charset::Latin1 => "ISO-8859-1",
        }
    }

    /// Encodes text, returning `None` if a character has no encoding (a generator bug, never served).
    pub(crate) fn encode(self, text: &str) -> Option<Vec<u8>> {
        let encoding = match self {
            Charset::Cp1252 | Charset::Latin1 => encoding_rs::WINDOWS_1252,
            Charset::Cp932 => encoding_rs::SHIFT_JIS,
            Charset::Utf8 => return Some(text.as_bytes().to_vec()),
        };
        let (bytes, _, had_errors) = encoding.encode(text);
        (!had_errors).then(|| bytes.into_owned())
    }
}

/// The language product names are written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Language {
    En,
    De,
    Fr,
    It,
    Es,
    Nl,
    Sv,
    Pl,
    Tr,
    Ja,
    Pt,
}

/// What the generator needs to know about one marketplace.
#[derive(Debug)]
pub(crate) struct Locale {
    pub(crate) language: Language,
    pub(crate) first_names: &'static [&'static str],
    pub(crate) last_names: &'static [&'static str],
    /// (city, state or region, postal code)
    pub(crate) places: &'static [(&'static str, &'static str, &'static str)],
    pub(crate) streets: &'static [&'static str],
    /// VAT or GST in basis points; included in prices unless `tax_exclusive`.
    pub(crate) tax_bp: i64,
    /// US and Canadian prices exclude sales tax; everywhere else prices include it.
    pub(crate) tax_exclusive: bool,
    /// Units of the currency per US dollar, for pricing the catalog.
    pub(crate) per_usd: f64,
    pub(crate) carriers: &'static [&'static str],
    pub(crate) fulfillment_centers: &'static [&'static str],
    /// Japanese names are written family name first.
    pub(crate) family_name_first: bool,
}

const EN_FIRST: &[&str] = &[
    "James", "Mary", "Robert", "Patricia", "Michael", "Linda", "David", "Emily", "Zoë",
];
const EN_LAST: &[&str] = &[
    "Smith", "Johnson", "O'Brien", "Williams", "Brown", "Garcia", "Miller", "Nguyen",
];
const EN_STREETS: &[&str] = &[
    "Main St",
    "Oak Avenue",
    "Maple Drive",
    "Pine Street",
    "Cedar Lane",
    "Park Road",
];

const LOCALE_US: Locale = Locale {
    language: Language::En,
    first_names: EN_FIRST,
    last_names: EN_LAST,
    places: &[
        ("SEATTLE", "WA", "98101-1234"),
        ("Austin", "TX", "78701"),
        ("KERRVILLE", "TX", "78028-6411"),
        ("SUNNY ISLES BEACH", "FLORIDA", "33160-2404"),
        ("Brooklyn", "NY", "11201"),
        ("Chicago", "IL", "60614"),
        ("Winnebago", "IL", "61088"),
        ("Portland", "OR", "97205"),
    ],
    streets: EN_STREETS,
    tax_bp: 700,
    tax_exclusive: true,
    per_usd: 1.0,
    carriers: &["AMZN_US", "USPS", "UPS"],
    fulfillment_centers: &["CMH1", "MDW7", "PHX6", "ONT8", "BFI4", "SDF8"],
    family_name_first: false,
};

const LOCALE_CA: Locale = Locale {
    places: &[
        ("Toronto", "ON", "M5V 2T6"),
        ("Montréal", "QC", "H2X 1Y4"),
        ("Vancouver", "BC", "V6B 1A1"),
        ("Québec", "QC", "G1R 4P5"),
        ("Calgary", "AB", "T2P 1J9"),
    ],
    tax_bp: 1300,
    per_usd: 1.35,
    carriers: &["AMZN_CA", "Canada Post", "Purolator"],
    fulfillment_centers: &["YYZ4", "YVR2", "YYC1"],
    ..LOCALE_US
};

const LOCALE_MX: Locale = Locale {
    language: Language::Es,
    first_names: &["José", "María", "Guadalupe", "Sebastián", "Ximena"],
    last_names: &["Hernández", "García", "Martínez", "López", "Peña"],
    places: &[
        ("Ciudad de México", "CDMX", "06700"),
        ("Guadalajara", "Jalisco", "44100"),
        ("Monterrey", "Nuevo León", "64000"),
        ("Mérida", "Yucatán", "97000"),
    ],
    streets: &[
        "Av. Insurgentes Sur",
        "Calle Madero",
        "Av. Juárez",
        "Calle 5 de Mayo",
    ],
    tax_bp: 1600,
    tax_exclusive: false,
    per_usd: 17.0,
    carriers: &["AMZN_MX", "Estafeta", "DHL"],
    fulfillment_centers: &["MEX1", "MEX2"],
    ..LOCALE_US
};

const LOCALE_BR: Locale = Locale {
    language: Language::Pt,
    first_names: &["João", "Conceição", "Luís", "Ana", "Sebastião"],
    last_names: &["Silva", "Gonçalves", "Araújo", "Santos", "Magalhães"],
    places: &[
        ("São Paulo", "SP", "01310-100"),
        ("Rio de Janeiro", "RJ", "20040-020"),
        ("Belo Horizonte", "MG", "30130-010"),
        ("Brasília", "DF", "70040-010"),
    ],
    streets: &[
        "Avenida Paulista",
        "Rua Augusta",
        "Rua da Consolação",
        "Avenida Atlântica",
    ],
    tax_bp: 0,
    tax_exclusive: false,
    per_usd: 5.0,
    carriers: &["AMZN_BR", "Correios"],
    fulfillment_centers: &["GRU5", "GIG1"],
    ..LOCALE_US
};

const LOCALE_GB: Locale = Locale {
    places: &[
        ("London", "Greater London", "SW1A 2AA"),
        ("Manchester", "Lancashire", "M1 1AE"),
        ("Edinburgh", "Midlothian", "EH1 1YZ"),
        ("Bristol", "", "BS1 4DJ"),
    ],
    streets: &["High Street", "Station Road", "Church Lane", "Victoria Road"],
    tax_bp: 2000,
    tax_exclusive: false,
    per_usd: 0.8,
    carriers: &["AMZN_UK", "Royal Mail", "DPD"],
    fulfillment_centers: &["BHX4", "LTN1", "MAN1", "EDI4"],
    ..LOCALE_US
};

const LOCALE_IE: Locale = Locale {
    first_names: &["Seán", "Aoife", "Niamh", "Ciarán", "Siobhán"],
    last_names: &["Ó Briain", "Murphy", "Kelly", "O'Sullivan", "Byrne"],
    places: &[
        ("Dublin", "Co. Dublin", "D02 X285"),
        ("Cork", "Co. Cork", "T12 RW26"),
        ("Galway", "Co. Galway", "H91 E2K3"),
    ],
    tax_bp: 2300,
    per_usd: 0.92,
    carriers: &["AMZN_IE", "An Post", "DPD"],
    fulfillment_centers: &["DUB1", "BHX4"],
    ..LOCALE_GB
};

const LOCALE_DE: Locale = Locale {
    language: Language::De,
    first_names: &["Jürgen", "Anna", "Lukas", "Sophie", "Jörg", "Käthe", "Maximilian"],
    last_names: &[
        "Müller",
        "Schmidt",
        "Schröder",
        "Weiß",
        "Groß",
        "Becker",
        "Köhler",
    ],
    places: &[
        ("München", "Bayern", "80331"),
        ("Köln", "Nordrhein-Westfalen", "50667"),
        ("Düsseldorf", "NRW", "40213"),
        ("Berlin", "Berlin", "10115"),
        ("Nürnberg", "Bayern", "90402"),
        ("Hamburg", "", "20095"),
    ],
    streets: &[
        "Hauptstraße",
        "Königsallee",
        "Bahnhofstraße",
        "Schloßstraße",
        "Gartenweg",
    ],
    tax_bp: 1900,
    tax_exclusive: false,
    per_usd: 0.92,
    carriers: &["DHL", "DPD", "AMZN_DE", "Hermes"],
    fulfillment_centers: &["LEJ1", "MUC3", "FRA7", "DTM2", "BER3"],
    family_name_first: false,
};

const FR_FIRST: &[&str] = &["Hélène", "Benoît", "Chloé", "Jérôme", "Amélie", "François"];
const FR_LAST: &[&str] = &["Dubois", "Lefèvre", "Moreau", "Girard", "Bézier", "Garçon"];

const LOCALE_FR: Locale = Locale {
    language: Language::Fr,
    first_names: FR_FIRST,
    last_names: FR_LAST,
    places: &[
        ("Paris", "Île-de-France", "75001"),
        ("Besançon", "Doubs", "25000"),
        ("Orléans", "Loiret", "45000"),
        ("Lyon", "Rhône", "69002"),
    ],
    streets: &[
        "rue de la Paix",
        "avenue des Champs-Élysées",
        "boulevard Saint-Germain",
        "rue Émile Zola",
    ],
    tax_bp: 2000,
    carriers: &["Colissimo", "Chronopost", "AMZN_FR", "DPD"],
    fulfillment_centers: &["ORY1", "LYS1", "MRS1", "LIL1"],
    ..LOCALE_DE
};

const LOCALE_BE: Locale = Locale {
    places: &[
        ("Bruxelles", "Bruxelles-Capitale", "1000"),
        ("Liège", "Liège", "4000"),
        ("Antwerpen", "Antwerpen", "2000"),
    ],
    tax_bp: 2100,
    carriers: &["bpost", "AMZN_BE", "DPD"],
    fulfillment_centers: &["LIL1", "DTM2"],
    ..LOCALE_FR
};

const LOCALE_IT: Locale = Locale {
    language: Language::It,
    first_names: &["Niccolò", "Giulia", "Andrea", "Chiara", "Luca"],
    last_names: &["Rossi", "Bianchi", "Esposito", "Colombo", "D'Angelo"],
    places: &[
        ("Milano", "MI", "20121"),
        ("Roma", "RM", "00184"),
        ("Forlì", "FC", "47121"),
        ("Napoli", "NA", "80133"),
    ],
    streets: &[
        "Via Roma",
        "Corso Vittorio Emanuele II",
        "Via Garibaldi",
        "Piazza del Popolo",
    ],
    tax_bp: 2200,
    carriers: &["BRT", "Poste Italiane", "AMZN_IT", "GLS"],
    fulfillment_centers: &["MXP5", "FCO1", "BLQ1"],
    ..LOCALE_DE
};

const LOCALE_ES: Locale = Locale {
    language: Language::Es,
    first_names: &["José", "María", "Íñigo", "Lucía", "Begoña", "Sebastián"],
    last_names: &["García", "Martínez", "López", "Núñez", "Pérez", "Ibáñez"],
    places: &[
        ("Madrid", "Madrid", "28013"),
        ("A Coruña", "A Coruña", "15001"),
        ("Cádiz", "Cádiz", "11001"),
        ("Barcelona", "Barcelona", "08002"),
    ],
    streets: &[
        "Calle Mayor",
        "Gran Vía",
        "Calle de Alcalá",
        "Avenida de la Constitución",
    ],
    tax_bp: 2100,
    carriers: &["Correos", "SEUR", "AMZN_ES", "MRW"],
    fulfillment_centers: &["MAD4", "BCN1", "SVQ1"],
    ..LOCALE_DE
};

const LOCALE_NL: Locale = Locale {
    language: Language::Nl,
    first_names: &["Sanne", "Daan", "Anouk", "Joost", "Fenna"],
    last_names: &["de Vries", "Jansen", "van den Berg", "Bakker", "Visser"],
    places: &[
        ("Amsterdam", "Noord-Holland", "1012 JS"),
        ("'s-Hertogenbosch", "Noord-Brabant", "5211 AB"),
        ("Utrecht", "Utrecht", "3511 AA"),
    ],
    streets: &["Damrak", "Kalverstraat", "Oudegracht", "Hoofdstraat"],
    tax_bp: 2100,
    carriers: &["PostNL", "DHL", "AMZN_NL"],
    fulfillment_centers: &["DTM2", "RTM1"],
    ..LOCALE_DE
};

const LOCALE_SE: Locale = Locale {
    language: Language::Sv,
    first_names: &["Åsa", "Björn", "Linnéa", "Örjan", "Märta"],
    last_names: &["Öberg", "Åström", "Johansson", "Lindqvist", "Nyström"],
    places: &[
        ("Göteborg", "Västra Götaland", "411 01"),
        ("Malmö", "Skåne", "211 20"),
        ("Stockholm", "Stockholm", "111 52"),
        ("Umeå", "Västerbotten", "903 26"),
    ],
    streets: &["Storgatan", "Drottninggatan", "Kungsgatan", "Vasagatan"],
    tax_bp: 2500,
    per_usd: 10.5,
    carriers: &["PostNord", "DHL", "AMZN_SE"],
    fulfillment_centers: &["ARN1", "GOT1"],
    ..LOCALE_DE
};

const LOCALE_PL: Locale = Locale {
    language: Language::Pl,
    first_names: &["Paweł", "Agnieszka", "Łukasz", "Małgorzata", "Krzysztof"],
    last_names: &["Wójcik", "Kowalski", "Nowak", "Wiśniewski", "Zieliński"],
    places: &[
        ("Łódź", "łódzkie", "90-001"),
        ("Kraków", "małopolskie", "30-001"),
        ("Gdańsk", "pomorskie", "80-001"),
        ("Wrocław", "dolnośląskie", "50-001"),
    ],
    streets: &["ul. Piotrkowska", "ul. Floriańska", "ul. Długa", "ul. Świdnicka"],
    tax_bp: 2300,
    per_usd: 4.0,
    carriers: &["InPost", "DPD", "AMZN_PL"],
    fulfillment_centers: &["POZ1", "WRO2", "KTW1"],
    ..LOCALE_DE
};

const LOCALE_TR: Locale = Locale {
    language: Language::Tr,
    first_names: &["Şükrü", "Ayşe", "Gökhan", "Özlem", "İbrahim"],
    last_names: &["Yılmaz", "Kaya", "Demir", "Çelik", "Öztürk"],
    places: &[
        ("İstanbul", "İstanbul", "34000"),
        ("İzmir", "İzmir", "35000"),
        ("Ankara", "Ankara", "06000"),
    ],
    streets: &["İstiklal Caddesi", "Atatürk Bulvarı", "Bağdat Caddesi"],
    tax_bp: 2000,
    per_usd: 32.0,
    carriers: &["Yurtiçi Kargo", "Aras Kargo", "AMZN_TR"],
    fulfillment_centers: &["IST1", "IST2"],
    ..LOCALE_DE
};

const ARABIC_FIRST: &[&str] = &["Mohammed", "Fatima", "Ahmed", "محمد", "Layla"];
const ARABIC_LAST: &[&str] = &["Al Mansouri", "Hassan", "العتيبي", "Khalil"];

const LOCALE_AE: Locale = Locale {
    first_names: ARABIC_FIRST,
    last_names: ARABIC_LAST,
    places: &[
        ("Dubai", "Dubai", ""),
        ("Abu Dhabi", "Abu Dhabi", ""),
        ("Sharjah", "Sharjah", ""),
    ],
    streets: &["Sheikh Zayed Road", "Al Wasl Road", "Corniche Road"],
    tax_bp: 500,
    tax_exclusive: false,
    per_usd: 3.67,
    carriers: &["AMZN_AE", "Aramex"],
    fulfillment_centers: &["DXB3", "DXB5"],
    ..LOCALE_US
};

const LOCALE_SA: Locale = Locale {
    places: &[
        ("Riyadh", "Riyadh Province", "11564"),
        ("Jeddah", "Makkah", "21442"),
    ],
    tax_bp: 1500,
    per_usd: 3.75,
    carriers: &["AMZN_SA", "SMSA"],
    fulfillment_centers: &["RUH1", "JED1"],
    ..LOCALE_AE
};

const LOCALE_EG: Locale = Locale {
    places: &[("Cairo", "Cairo", "11511"), ("Alexandria", "Alexandria", "21500")],
    tax_bp: 1400,
    per_usd: 48.0,
    carriers: &["AMZN_EG", "Aramex"],
    fulfillment_centers: &["CAI1"],
    ..LOCALE_AE
};

const LOCALE_IN: Locale = Locale {
    first_names: &["Priya", "Rahul", "Ananya", "Vikram", "Sneha"],
    last_names: &["Sharma", "Patel", "Iyer", "Reddy", "Banerjee"],
    places: &[
        ("Mumbai", "MAHARASHTRA", "400001"),
        ("Bengaluru", "KARNATAKA", "560001"),
        ("New Delhi", "DELHI", "110001"),
    ],
    streets: &["MG Road", "Linking Road", "Brigade Road"],
    tax_bp: 1800,
    tax_exclusive: false,
    per_usd: 83.0,
    carriers: &["AMZN_IN", "Delhivery", "Blue Dart"],
    fulfillment_centers: &["BOM7", "BLR8", "DEL4"],
    ..LOCALE_US
};

const LOCALE_ZA: Locale = Locale {
    places: &[
        ("Cape Town", "Western Cape", "8001"),
        ("Johannesburg", "Gauteng", "2001"),
    ],
    tax_bp: 1500,
    tax_exclusive: false,
    per_usd: 18.0,
    carriers: &["AMZN_ZA", "The Courier Guy"],
    fulfillment_centers: &["CPT1", "JNB1"],
    ..LOCALE_US
};

const LOCALE_AU: Locale = Locale {
    places: &[
        ("Sydney", "NSW", "2000"),
        ("Melbourne", "VIC", "3000"),
        ("Brisbane", "QLD", "4000"),
    ],
    tax_bp: 1000,
    tax_exclusive: false,
    per_usd: 1.5,
    carriers: &["AMZN_AU", "Australia Post"],
    fulfillment_centers: &["SYD8", "MEL1", "BNE1"],
    ..LOCALE_US
};

const LOCALE_SG: Locale = Locale {
    places: &[("Singapore", "", "018956"), ("Singapore", "", "238859")],
    tax_bp: 900,
    tax_exclusive: false,
    per_usd: 1.35,
    carriers: &["AMZN_SG", "SingPost"],
    fulfillment_centers: &["SIN1"],
    ..LOCALE_US
};

const LOCALE_JP: Locale = Locale {
    language: Language::Ja,
    first_names: &["太郎", "花子", "健一", "美咲", "翔太", "陽菜"],
    last_names: &["山田", "佐藤", "鈴木", "高橋", "田中", "渡辺"],
    places: &[
        ("渋谷区", "東京都", "150-0002"),
        ("大阪市北区", "大阪府", "530-0001"),
        ("札幌市中央区", "北海道", "060-0001"),
        ("福岡市博多区", "福岡県", "812-0011"),
        ("横浜市西区", "神奈川県", "220-0012"),
    ],
    streets: &["神南1-2-3", "梅田2-4-9", "北一条西5-1", "博多駅前3-2-1"],
    tax_bp: 1000,
    tax_exclusive: false,
    per_usd: 150.0,
    carriers: &["AMZN_JP", "YAMATO", "SAGAWA", "JPPOST"],
    fulfillment_centers: &["NRT1", "KIX2", "HND3", "FUK1"],
    family_name_first: true,
};

/// The locale of a marketplace, by its country code.
pub(crate) fn locale(marketplace: &Marketplace) -> &'static Locale {
    match marketplace.country {
        "US" => &LOCALE_US,
        "CA" => &LOCALE_CA,
        "MX" => &LOCALE_MX,
        "BR" => &LOCALE_BR,
        "GB" => &LOCALE_GB,
        "IE" => &LOCALE_IE,
        "DE" => &LOCALE_DE,
        "FR" => &LOCALE_FR,
        "BE" => &LOCALE_BE,
        "IT" => &LOCALE_IT,
        "ES" => &LOCALE_ES,
        "NL" => &LOCALE_NL,
        "SE" => &LOCALE_SE,
        "PL" => &LOCALE_PL,
        "TR" => &LOCALE_TR,
        "AE" => &LOCALE_AE,
        "SA" => &LOCALE_SA,
        "EG" => &LOCALE_EG,
        "IN" => &LOCALE_IN,
        "ZA" => &LOCALE_ZA,
        "AU" => &LOCALE_AU,
        "SG" => &LOCALE_SG,
        "JP" => &LOCALE_JP,
        _ => &LOCALE_US,
    }
}

/// Product nouns per language; an inch mark (`"`) in some titles is data, as in real flat files.
pub(crate) fn product_nouns(language: Language) -> &'static [&'static str] {
    match language {
        Language::En => &[
            "Stainless Steel Water Bottle",
            "Bamboo Cutting Board",
            "USB-C Charging Cable",
            "Cotton Bath Towel Set",
            "Ceramic Coffee Mug",
            "LED Desk Lamp",
            "Non-Slip Yoga Mat",
            "Wireless Mouse",
            "Kids' Puzzle, 100 Pieces",
            "Laptop Sleeve 13\"",
            "Café Crème Espresso Cups (Set of 4)",
        ],
        Language::De => &[
            "Edelstahl Trinkflasche",
            "Bambus Schneidebrett",
            "USB-C Ladekabel",
            "Baumwoll-Handtuchset",
            "Keramik Kaffeebecher",
            "LED Schreibtischlampe",
            "Yogamatte rutschfest",
            "Kabellose Maus",
            "Kinderpuzzle 100 Teile",
            "Laptophülle 13\" – wasserabweisend",
            "Gewürzregal für Küche & Büro",
        ],
        Language::Fr => &[
            "Gourde en acier inoxydable",
            "Planche à découper en bambou",
            "Câble de charge USB-C",
            "Serviettes de bain en coton",
            "Tasse à café en céramique",
            "Lampe de bureau LED",
            "Tapis de yoga antidérapant",
            "Souris sans fil",
            "Puzzle enfant 100 pièces",
        ],
        Language::It => &[
            "Borraccia in acciaio inossidabile",
            "Tagliere in bambù",
            "Cavo di ricarica USB-C",
            "Set asciugamani in cotone",
            "Tazza da caffè in ceramica",
            "Lampada da scrivania LED",
            "Tappetino yoga antiscivolo",
            "Mouse senza fili",
            "Puzzle per bambini 100 pezzi",
        ],
        Language::Es => &[
            "Botella de agua de acero inoxidable",
            "Tabla de cortar de bambú",
            "Cable de carga USB-C",
            "Juego de toallas de algodón",
            "Taza de café de cerámica",
            "Lámpara de escritorio LED",
            "Esterilla de yoga antideslizante",
            "Ratón inalámbrico",
            "Puzle infantil 100 piezas",
        ],
        Language::Nl => &[
            "Roestvrijstalen drinkfles",
            "Bamboe snijplank",
            "USB-C oplaadkabel",
            "Katoenen handdoekenset",
            "Keramische koffiemok",
            "LED-bureaulamp",
            "Antislip yogamat",
            "Draadloze muis",
        ],
        Language::Sv => &[
            "Vattenflaska i rostfritt stål",
            "Skärbräda i bambu",
            "USB-C-laddkabel",
            "Handduksset i bomull",
            "Kaffemugg i keramik",
            "LED-skrivbordslampa",
            "Halkfri yogamatta",
            "Trådlös mus",
        ],
        Language::Pl => &[
            "Butelka ze stali nierdzewnej",
            "Deska do krojenia z bambusa",
            "Kabel do ładowania USB-C",
            "Zestaw ręczników bawełnianych",
            "Kubek ceramiczny do kawy",
            "Lampka biurkowa LED",
            "Mysz bezprzewodowa",
        ],
        Language::Tr => &[
            "Paslanmaz Çelik Su Şişesi",
            "Bambu Kesme Tahtası",
            "USB-C Şarj Kablosu",
            "Pamuklu Havlu Seti",
            "Seramik Kahve Kupası",
            "Kablosuz Fare",
        ],
        Language::Ja => &[
            "ステンレス製 真空断熱 水筒",
            "竹製 まな板",
            "USB-C 充電ケーブル",
            "綿100% バスタオル セット",
            "陶器 マグカップ",
            "LED デスクライト",
            "滑り止め ヨガマット",
            "ワイヤレス マウス",
            "子供用 パズル 100ピース",
            "ノートPCケース 13インチ（撥水）",
        ],
        Language::Pt => &[
            "Garrafa de aço inoxidável",
            "Tábua de corte de bambu",
            "Cabo de carregamento USB-C",
            "Jogo de toalhas de algodão",
            "Caneca de cerâmica",
            "Luminária de mesa LED",
            "Mouse sem fio",
        ],
    }
}

/// Colour variations per language.
pub(crate) fn colours(language: Language) -> &'static [&'static str] {
    match language {
        Language::En => &["Black", "White", "Navy Blue", "Sage Green", "Grey"],
        Language::De => &["Schwarz", "Weiß", "Blau", "Grün", "Grau"],
        Language::Fr => &["Noir", "Blanc", "Bleu", "Vert", "Gris"],
        Language::It => &["Nero", "Bianco", "Blu", "Verde", "Grigio"],
        Language::Es => &["Negro", "Blanco", "Azul", "Verde", "Gris"],
        Language::Nl => &["Zwart", "Wit", "Blauw", "Groen", "Grijs"],
        Language::Sv => &["Svart", "Vit", "Blå", "Grön", "Grå"],
        Language::Pl => &["Czarny", "Biały", "Niebieski", "Zielony", "Szary"],
        Language::Tr => &["Siyah", "Beyaz", "Mavi", "Yeşil", "Gri"],
        Language::Ja => &["ブラック", "ホワイト", "ブルー", "グリーン", "グレー"],
        Language::Pt => &["Preto", "Branco", "Azul", "Verde", "Cinza"],
    }
}

/// The UTC offset reports use for local dates in a marketplace (Pacific time for the US and Canada), with
/// daylight saving time where the marketplace observes it.
pub(crate) fn local_offset(marketplace: &Marketplace, at: DateTime<Utc>) -> FixedOffset {
    // Every offset below is within a day, so `east_opt` cannot fail; UTC is a harmless fallback regardless.
    let seconds = |s: i32| FixedOffset::east_opt(s).unwrap_or_else(|| Utc.fix());
    let hours = |h: i32| seconds(h * 3600);
    match marketplace.country {
        "US" | "CA" => {
            if us_dst(at) {
                hours(-7)
            } else {
                hours(-8)
            }
        }
        "MX" => hours(-6),
        "BR" => hours(-3),
        "GB" | "IE" => hours(i32::from(eu_dst(at))),
        "DE" | "FR" | "IT" | "ES" | "NL" | "SE" | "BE" | "PL" => hours(1 + i32::from(eu_dst(at))),
        "EG" | "ZA" => hours(2),
        "TR" | "SA" => hours(3),
        "AE" => hours(4),
        "IN" => seconds(5 * 3600 + 1800),
        "SG" => hours(8),
        "JP" => hours(9),
        "AU" => hours(10),
        _ => hours(0),
    }
}

/// `at` in a marketplace's local time, as `2020-12-18T06:32:18-08:00`.
pub(crate) fn local_date(marketplace: &Marketplace, at: DateTime<Utc>) -> String {
    let offset = local_offset(marketplace, at);
    offset
        .from_utc_datetime(&at.naive_utc())
        .format("%Y-%m-%dT%H:%M:%S%:z")
        .to_string()
}

/// The `n`th `weekday` of a month (or the last one when `n` is 0), at `hour` UTC.
fn nth_weekday(year: i32, month: u32, weekday: Weekday, n: u32, hour: u32) -> DateTime<Utc> {
    let first = NaiveDate::from_ymd_opt(year, month, 1).unwrap_or_default();
    let days: Vec<NaiveDate> = first
        .iter_days()
        .take_while(|d| d.month() == month)
        .filter(|d| d.weekday() == weekday)
        .collect();
    let day = if n == 0 {
        days.last().copied()
    } else {
        days.get(n as usize - 1).copied()
    };
    Utc.from_utc_datetime(&day.unwrap_or(first).and_hms_opt(hour, 0, 0).unwrap_or_default())
}

/// US daylight saving time: second Sunday of March, 2:00 PST, to first Sunday of November, 2:00 PDT.
fn us_dst(at: DateTime<Utc>) -> bool {
    let year = at.year();
    nth_weekday(year, 3, Weekday::Sun, 2, 10) <= at && at < nth_weekday(year, 11, Weekday::Sun, 1, 9)
}

/// EU summer time: last Sunday of March to last Sunday of October, switching at 01:00 UTC.
fn eu_dst(at: DateTime<Utc>) -> bool {
    let year = at.year();
    nth_weekday(year, 3, Weekday::Sun, 0, 1) <= at && at < nth_weekday(year, 10, Weekday::Sun, 0, 1)
}

#[cfg(test)]
mod tests {
    use crate::marketplaces::MARKETPLACES;

    use super::*;

    #[test]
    fn every_marketplace_text_encodes_in_its_charset() {
        for marketplace in MARKETPLACES {
            let charset = Charset::of(marketplace);
            let locale = locale(marketplace);
            let texts = locale
                .first_names
                .iter()
                .chain(locale.last_names)
                .chain(locale.streets)
                .chain(locale.carriers)
                .chain(locale.places.iter().flat_map(|(c, s, p)| [c, s, p]))
                .chain(product_nouns(locale.language))
                .chain(colours(locale.language));
            for text in texts {
                assert!(
                    charset.encode(text).is_some(),
                    "{} cannot encode {text:?}",
                    marketplace.country
                );
                assert!(!text.contains(['\t', '\r', '\n']), "{text:?}");
            }
        }
    }

    #[test]
    fn japanese_text_encodes_to_shift_jis_bytes() {
        let bytes = Charset::Cp932.encode("山田 太郎").expect("encodable");
        assert_eq!(bytes.len(), 9);
        assert_eq!(encoding_rs::SHIFT_JIS.decode(&bytes).0, "山田 太郎");
    }

    #[test]
    fn local_dates_follow_daylight_saving_time() {
        let us = Marketplace::by_id("ATVPDKIKX0DER").expect("US");
        let de = Marketplace::by_id("A1PA6795UKMFR9").expect("DE");
        let winter = Utc
            .with_ymd_and_hms(2020, 12, 18, 14, 32, 18)
            .single()
            .expect("valid");
        let summer = Utc
            .with_ymd_and_hms(2024, 7, 1, 12, 0, 0)
            .single()
            .expect("valid");
        assert_eq!(local_date(us, winter), "2020-12-18T06:32:18-08:00");
        assert_eq!(local_date(us, summer), "2024-07-01T05:00:00-07:00");
        assert_eq!(local_date(de, summer), "2024-07-01T14:00:00+02:00");
        assert_eq!(local_date(de, winter), "2020-12-18T15:32:18+01:00");
    }

    #[test]
    fn a_report_over_marketplaces_of_different_charsets_is_utf8() {
        let de = Marketplace::by_id("A1PA6795UKMFR9").expect("DE");
        let fr = Marketplace::by_id("A13V1IB3VIYZZH").expect("FR");
        let pl = Marketplace::by_id("A1C3SOZRARQ6R3").expect("PL");
        assert_eq!(Charset::of_all([de, fr]), Charset::Cp1252);
        assert_eq!(Charset::of_all([de, pl]), Charset::Utf8);
    }
}
