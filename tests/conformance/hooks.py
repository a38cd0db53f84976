"""schemathesis hooks for tests/spapi-conformance.sh: request parameters restricted to what a real seller can
name (real report and feed types, the seller's marketplaces, ids that exist), so Amazon's models test the
sandbox's answers rather than its refusals of random strings. Responses are never touched."""

import os
from datetime import datetime, timedelta, timezone

import schemathesis

MARKETPLACES = os.environ["CONFORMANCE_MARKETPLACES"].split(",")
REPORT_ID = os.environ["CONFORMANCE_REPORT_ID"]
REPORT_DOCUMENT_ID = os.environ["CONFORMANCE_REPORT_DOCUMENT_ID"]
FEED_ID = os.environ["CONFORMANCE_FEED_ID"]
FEED_DOCUMENT_ID = os.environ["CONFORMANCE_FEED_DOCUMENT_ID"]
SCHEDULE_ID = os.environ.get("CONFORMANCE_SCHEDULE_ID", "")
ORDER_ID = os.environ.get("CONFORMANCE_ORDER_ID", "")
DESTINATION_ID = os.environ.get("CONFORMANCE_DESTINATION_ID", "")
SUBSCRIPTION_ID = os.environ.get("CONFORMANCE_SUBSCRIPTION_ID", "")
NOTIFICATION_TYPES = ["ORDER_CHANGE", "REPORT_PROCESSING_FINISHED", "FEED_PROCESSING_FINISHED"]

REPORT_TYPES = [
    "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_LAST_UPDATE_GENERAL",
    "GET_XML_ALL_ORDERS_DATA_BY_LAST_UPDATE_GENERAL",
    "GET_FLAT_FILE_ACTIONABLE_ORDER_DATA_SHIPPING",
    "GET_AMAZON_FULFILLED_SHIPMENTS_DATA_GENERAL",
]
FEED_TYPES = ["POST_ORDER_FULFILLMENT_DATA", "POST_ORDER_ACKNOWLEDGEMENT_DATA", "JSON_LISTINGS_FEED"]


def _pick(values, seed):
    return values[hash(str(seed)) % len(values)]


@schemathesis.hook
def map_path_parameters(ctx, path):
    if not path:
        return path
    for name, value in {
        "reportId": REPORT_ID,
        "reportDocumentId": REPORT_DOCUMENT_ID,
        "feedId": FEED_ID,
        "feedDocumentId": FEED_DOCUMENT_ID,
        "reportScheduleId": SCHEDULE_ID or path.get("reportScheduleId"),
        "orderId": ORDER_ID,
        "destinationId": DESTINATION_ID,
        "subscriptionId": SUBSCRIPTION_ID,
    }.items():
        if name in path and value:
            path[name] = value
    if "notificationType" in path:
        path["notificationType"] = _pick(NOTIFICATION_TYPES, path["notificationType"])
    return path


@schemathesis.hook
def map_query(ctx, query):
    if not query:
        return query
    if "reportTypes" in query:
        query["reportTypes"] = REPORT_TYPES[: 1 + len(str(query["reportTypes"])) % len(REPORT_TYPES)]
    if "feedTypes" in query:
        query["feedTypes"] = FEED_TYPES[: 1 + len(str(query["feedTypes"])) % len(FEED_TYPES)]
    if "marketplaceIds" in query:
        query["marketplaceIds"] = MARKETPLACES[:1]
    if "notificationTypes" in query:
        query["notificationTypes"] = NOTIFICATION_TYPES[: 1 + len(str(query["notificationTypes"])) % 3]
    # searchOrders: dates a seller would send (the last month, Before at least two minutes ago), so the
    # answers are orders rather than refusals; the parameter combinations themselves stay as generated.
    month_ago = (datetime.now(timezone.utc) - timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    recent = (datetime.now(timezone.utc) - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    for name in ("createdAfter", "lastUpdatedAfter"):
        if name in query:
            query[name] = month_ago
    for name in ("createdBefore", "lastUpdatedBefore"):
        if name in query:
            query[name] = recent
    return query


@schemathesis.hook
def map_body(ctx, body):
    if not isinstance(body, dict):
        return body
    if "reportType" in body:
        body["reportType"] = _pick(REPORT_TYPES, body["reportType"])
    if "feedType" in body:
        body["feedType"] = _pick(FEED_TYPES, body["feedType"])
    if "marketplaceIds" in body:
        body["marketplaceIds"] = MARKETPLACES[:1]
    if "inputFeedDocumentId" in body:
        body["inputFeedDocumentId"] = FEED_DOCUMENT_ID
    return body
