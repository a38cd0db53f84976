//! Report types: which exist, which can be requested, which are restricted, and what the sandbox renders for each.

/// The order report types the generator renders from the seller's orders.
pub const ALL_ORDERS_BY_LAST_UPDATE: &str = "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_LAST_UPDATE_GENERAL";
/// Flat-file orders by order date.
pub const ALL_ORDERS_BY_ORDER_DATE: &str = "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL";
/// XML orders by last update.
pub const XML_ORDERS_BY_LAST_UPDATE: &str = "GET_XML_ALL_ORDERS_DATA_BY_LAST_UPDATE_GENERAL";
/// XML orders by order date.
pub const XML_ORDERS_BY_ORDER_DATE: &str = "GET_XML_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL";
/// Unshipped MFN orders with buyer and address (restricted).
pub const ACTIONABLE_ORDERS: &str = "GET_FLAT_FILE_ACTIONABLE_ORDER_DATA_SHIPPING";
/// FBA shipments.
pub const FBA_SHIPMENTS: &str = "GET_AMAZON_FULFILLED_SHIPMENTS_DATA_GENERAL";

/// How the sandbox produces a report type's document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rendering {
    /// Flat-file all-orders report (`by_order_date` selects orders by purchase date instead of last update).
    AllOrdersFlat { by_order_date: bool },
    /// XML all-orders report.
    AllOrdersXml { by_order_date: bool },
    /// Unshipped MFN orders with PII.
    Actionable,
    /// FBA shipments.
    FbaShipments,
    /// Any other type: a small TSV drawn from the seller's catalog.
    Catalog,
}

/// What the sandbox knows about a report type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ReportTypeInfo {
    pub(crate) rendering: Rendering,
    /// Longest window Amazon processes; longer ones end FATAL.
    pub(crate) max_window_days: Option<i64>,
    /// Needs a Restricted Data Token to read the document.
    pub(crate) restricted: bool,
}

/// Looks a report type up; `None` for a type Amazon does not have.
pub(crate) fn info(report_type: &str) -> Option<ReportTypeInfo> {
    if !KNOWN_REPORT_TYPES.contains(&report_type) {
        return None;
    }
    let (rendering, max_window_days) = match report_type {
        ALL_ORDERS_BY_LAST_UPDATE => (Rendering::AllOrdersFlat { by_order_date: false }, Some(30)),
        ALL_ORDERS_BY_ORDER_DATE => (Rendering::AllOrdersFlat { by_order_date: true }, Some(30)),
        XML_ORDERS_BY_LAST_UPDATE => (Rendering::AllOrdersXml { by_order_date: false }, Some(30)),
        XML_ORDERS_BY_ORDER_DATE => (Rendering::AllOrdersXml { by_order_date: true }, Some(30)),
        ACTIONABLE_ORDERS => (Rendering::Actionable, None),
        FBA_SHIPMENTS => (Rendering::FbaShipments, Some(30)),
        _ => (Rendering::Catalog, None),
    };
    Some(ReportTypeInfo {
        rendering,
        max_window_days,
        restricted: RESTRICTED_REPORT_TYPES.contains(&report_type),
    })
}

/// Whether Amazon refuses `createReport` for the type because only Amazon schedules it (settlement reports).
pub(crate) fn is_scheduled_only(report_type: &str) -> bool {
    report_type.starts_with("GET_V2_SETTLEMENT_REPORT_DATA") || report_type.contains("SETTLEMENT_DATA")
}

/// Report types whose documents need a Restricted Data Token (Tokens API use case guide).
pub(crate) const RESTRICTED_REPORT_TYPES: &[&str] = &[
    "GET_AMAZON_FULFILLED_SHIPMENTS_DATA_INVOICING",
    "GET_AMAZON_FULFILLED_SHIPMENTS_DATA_TAX",
    "GET_FLAT_FILE_ACTIONABLE_ORDER_DATA_SHIPPING",
    "GET_FLAT_FILE_ORDER_REPORT_DATA_SHIPPING",
    "GET_FLAT_FILE_ORDER_REPORT_DATA_INVOICING",
    "GET_FLAT_FILE_ORDER_REPORT_DATA_TAX",
    "GET_FLAT_FILE_ORDERS_RECONCILIATION_DATA_TAX",
    "GET_FLAT_FILE_ORDERS_RECONCILIATION_DATA_INVOICING",
    "GET_FLAT_FILE_ORDERS_RECONCILIATION_DATA_SHIPPING",
    "GET_ORDER_REPORT_DATA_INVOICING",
    "GET_ORDER_REPORT_DATA_TAX",
    "GET_ORDER_REPORT_DATA_SHIPPING",
    "GET_EASYSHIP_DOCUMENTS",
    "GET_GST_MTR_B2B_CUSTOM",
    "GET_VAT_TRANSACTION_DATA",
    "SC_VAT_TAX_REPORT",
];

/// Every report type Amazon's report-type values list names (plus the reconciliation types the Tokens guide
/// lists and a few newer analytics types).
pub(crate) const KNOWN_REPORT_TYPES: &[&str] = &[
    "FEE_DISCOUNTS_REPORT",
    "GET_AFN_INVENTORY_DATA",
    "GET_AFN_INVENTORY_DATA_BY_COUNTRY",
    "GET_AMAZON_FULFILLED_SHIPMENTS_DATA_GENERAL",
    "GET_AMAZON_FULFILLED_SHIPMENTS_DATA_INVOICING",
    "GET_AMAZON_FULFILLED_SHIPMENTS_DATA_TAX",
    "GET_B2B_PRODUCT_OPPORTUNITIES_NOT_YET_ON_AMAZON",
    "GET_B2B_PRODUCT_OPPORTUNITIES_RECOMMENDED_FOR_YOU",
    "GET_BRAND_ANALYTICS_ALTERNATE_PURCHASE_REPORT",
    "GET_BRAND_ANALYTICS_ITEM_COMPARISON_REPORT",
    "GET_BRAND_ANALYTICS_MARKET_BASKET_REPORT",
    "GET_BRAND_ANALYTICS_REPEAT_PURCHASE_REPORT",
    "GET_BRAND_ANALYTICS_SEARCH_TERMS_REPORT",
    "GET_CONVERGED_FLAT_FILE_PENDING_ORDERS_DATA",
    "GET_CSV_MFN_PRIME_RETURNS_REPORT",
    "GET_EASYSHIP_DOCUMENTS",
    "GET_EASYSHIP_PICKEDUP",
    "GET_EASYSHIP_WAITING_FOR_PICKUP",
    "GET_EXCESS_INVENTORY_DATA",
    "GET_FBA_ESTIMATED_FBA_FEES_TXT_DATA",
    "GET_FBA_FULFILLMENT_CURRENT_INVENTORY_DATA",
    "GET_FBA_FULFILLMENT_CUSTOMER_RETURNS_DATA",
    "GET_FBA_FULFILLMENT_CUSTOMER_SHIPMENT_PROMOTION_DATA",
    "GET_FBA_FULFILLMENT_CUSTOMER_SHIPMENT_REPLACEMENT_DATA",
    "GET_FBA_FULFILLMENT_CUSTOMER_SHIPMENT_SALES_DATA",
    "GET_FBA_FULFILLMENT_CUSTOMER_TAXES_DATA",
    "GET_FBA_FULFILLMENT_INBOUND_NONCOMPLIANCE_DATA",
    "GET_FBA_FULFILLMENT_INVENTORY_ADJUSTMENTS_DATA",
    "GET_FBA_FULFILLMENT_INVENTORY_HEALTH_DATA",
    "GET_FBA_FULFILLMENT_INVENTORY_RECEIPTS_DATA",
    "GET_FBA_FULFILLMENT_INVENTORY_SUMMARY_DATA",
    "GET_FBA_FULFILLMENT_LONGTERM_STORAGE_FEE_CHARGES_DATA",
    "GET_FBA_FULFILLMENT_MONTHLY_INVENTORY_DATA",
    "GET_FBA_FULFILLMENT_REMOVAL_ORDER_DETAIL_DATA",
    "GET_FBA_FULFILLMENT_REMOVAL_SHIPMENT_DETAIL_DATA",
    "GET_FBA_INVENTORY_AGED_DATA",
    "GET_FBA_INVENTORY_PLANNING_DATA",
    "GET_FBA_MYI_ALL_INVENTORY_DATA",
    "GET_FBA_MYI_UNSUPPRESSED_INVENTORY_DATA",
    "GET_FBA_RECOMMENDED_REMOVAL_DATA",
    "GET_FBA_REIMBURSEMENTS_DATA",
    "GET_FBA_STORAGE_FEE_CHARGES_DATA",
    "GET_FBA_UNO_INVENTORY_DATA",
    "GET_FLAT_FILE_ACTIONABLE_ORDER_DATA_SHIPPING",
    "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_LAST_UPDATE_GENERAL",
    "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL",
    "GET_FLAT_FILE_ARCHIVED_ORDERS_DATA_BY_ORDER_DATE",
    "GET_FLAT_FILE_MFN_SKU_RETURN_ATTRIBUTES_REPORT",
    "GET_FLAT_FILE_OFFAMAZONPAYMENTS_SANDBOX_SETTLEMENT_DATA",
    "GET_FLAT_FILE_OPEN_LISTINGS_DATA",
    "GET_FLAT_FILE_ORDER_REPORT_DATA_INVOICING",
    "GET_FLAT_FILE_ORDER_REPORT_DATA_SHIPPING",
    "GET_FLAT_FILE_ORDER_REPORT_DATA_TAX",
    "GET_FLAT_FILE_ORDERS_RECONCILIATION_DATA_INVOICING",
    "GET_FLAT_FILE_ORDERS_RECONCILIATION_DATA_SHIPPING",
    "GET_FLAT_FILE_ORDERS_RECONCILIATION_DATA_TAX",
    "GET_FLAT_FILE_PENDING_ORDERS_DATA",
    "GET_FLAT_FILE_RETURNS_DATA_BY_RETURN_DATE",
    "GET_FLAT_FILE_SALES_TAX_DATA",
    "GET_GST_MTR_B2B_CUSTOM",
    "GET_GST_MTR_B2C_CUSTOM",
    "GET_LEDGER_DETAIL_VIEW_DATA",
    "GET_LEDGER_SUMMARY_VIEW_DATA",
    "GET_MERCHANTS_LISTINGS_FYP_REPORT",
    "GET_MERCHANT_CANCELLED_LISTINGS_DATA",
    "GET_MERCHANT_LISTINGS_ALL_DATA",
    "GET_MERCHANT_LISTINGS_DATA",
    "GET_MERCHANT_LISTINGS_DATA_BACK_COMPAT",
    "GET_MERCHANT_LISTINGS_DATA_LITE",
    "GET_MERCHANT_LISTINGS_DATA_LITER",
    "GET_MERCHANT_LISTINGS_DEFECT_DATA",
    "GET_MERCHANT_LISTINGS_INACTIVE_DATA",
    "GET_MFN_PAN_EU_OFFER_STATUS",
    "GET_ORDER_REPORT_DATA_INVOICING",
    "GET_ORDER_REPORT_DATA_SHIPPING",
    "GET_ORDER_REPORT_DATA_TAX",
    "GET_PAN_EU_OFFER_STATUS",
    "GET_PENDING_ORDERS_DATA",
    "GET_PRODUCT_EXCHANGE_DATA",
    "GET_PROMOTION_PERFORMANCE_REPORT",
    "GET_REFERRAL_FEE_PREVIEW_REPORT",
    "GET_REMOTE_FULFILLMENT_ELIGIBILITY",
    "GET_RESERVED_INVENTORY_DATA",
    "GET_RESTOCK_INVENTORY_RECOMMENDATIONS_REPORT",
    "GET_SALES_AND_TRAFFIC_REPORT",
    "GET_SELLER_FEEDBACK_DATA",
    "GET_STRANDED_INVENTORY_LOADER_DATA",
    "GET_STRANDED_INVENTORY_UI_DATA",
    "GET_V1_SELLER_PERFORMANCE_REPORT",
    "GET_V2_SELLER_PERFORMANCE_REPORT",
    "GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE",
    "GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2",
    "GET_V2_SETTLEMENT_REPORT_DATA_XML",
    "GET_VAT_TRANSACTION_DATA",
    "GET_VENDOR_DEMAND_FORECAST_REPORT",
    "GET_VENDOR_INVENTORY_HEALTH_AND_PLANNING_REPORT",
    "GET_VENDOR_NET_PURE_PRODUCT_MARGIN_REPORT",
    "GET_VENDOR_SALES_DIAGNOSTIC_REPORT",
    "GET_XML_ALL_ORDERS_DATA_BY_LAST_UPDATE_GENERAL",
    "GET_XML_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL",
    "GET_XML_BROWSE_TREE_DATA",
    "GET_XML_MFN_PRIME_RETURNS_REPORT",
    "GET_XML_MFN_SKU_RETURN_ATTRIBUTES_REPORT",
    "GET_XML_RETURNS_DATA_BY_RETURN_DATE",
    "RFQD_BULK_DOWNLOAD",
    "SC_VAT_TAX_REPORT",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_report_types_render_orders_and_cap_their_windows() {
        let flat = info(ALL_ORDERS_BY_LAST_UPDATE).expect("known");
        assert_eq!(flat.max_window_days, Some(30));
        assert!(!flat.restricted);
        let actionable = info(ACTIONABLE_ORDERS).expect("known");
        assert!(actionable.restricted);
        assert_eq!(
            info("GET_AFN_INVENTORY_DATA").map(|i| i.rendering),
            Some(Rendering::Catalog)
        );
        assert_eq!(info("BAD_FEE_DISCOUNTS_REPORT"), None);
    }

    #[test]
    fn every_restricted_type_is_a_known_type_and_settlements_are_not_requestable() {
        for restricted in RESTRICTED_REPORT_TYPES {
            assert!(KNOWN_REPORT_TYPES.contains(restricted), "{restricted}");
        }
        assert!(is_scheduled_only("GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2"));
        assert!(!is_scheduled_only(ALL_ORDERS_BY_LAST_UPDATE));
    }
}
