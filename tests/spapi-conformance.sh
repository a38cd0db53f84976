#!/usr/bin/env bash
# Holds the SP-API sandbox to Amazon's own models: schemathesis (PyPI) generates requests from
# reports_2021-06-30.json, feeds_2021-06-30.json, orders_2026-01-01.json, sellers.json, application_2023-11-30.json
# and notifications.json in the shared reference folder (used in place, never
# copied) and checks every answer of a freshly started sandbox with not_a_server_error,
# status_code_conformance and response_schema_conformance. Request parameters are restricted to real report
# and feed types, the seller's marketplaces and ids that exist (tests/conformance/hooks.py); responses are
# not touched.
#
#   tests/spapi-conformance.sh [schemathesis options...]    e.g. --max-examples 50
#
# schemathesis goes into its own venv under .local/tools (the one tests/api-fuzz.sh uses, same version).
# CONFORMANCE_MAX_TIME (seconds, default 600) bounds each model's run; CONFORMANCE_MODELS picks models. Exits non-zero on any failure.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.local/tools/venv-schemathesis"
version="4.32.5"
export PIP_DISABLE_PIP_VERSION_CHECK=1
log() { echo "spapi-conformance: $*" >&2; }

models="${SELLERSYNC_REFERENCE_DIR:-}"
if [ -z "$models" ]; then
  dir="$root"
  while [ "$dir" != "/" ] && [ ! -d "$dir/shared/reference/spapi-models" ]; do dir="$(dirname "$dir")"; done
  models="$dir/shared/reference"
fi
models="$models/spapi-models/models"
[ -f "$models/reports-api-model/reports_2021-06-30.json" ] || { log "Amazon's models not found under $models"; exit 1; }

if ! "$venv/bin/st" --version 2>/dev/null | grep -q "version $version\$"; then
  log "installing schemathesis $version into $venv"
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q "schemathesis==$version"
fi

(cd "$root" && cargo build -q -p tests --bin spapi-sandbox)
target="$(cd "$root" && cargo metadata --format-version 1 --no-deps \
  | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')"
out="$(mktemp)"
# Buckets scaled far up: the run checks answers, not throttling (429 answers would be conformant anyway).
"$target/debug/spapi-sandbox" --port 0 --seed 15 --rate-scale 100000 --report-processing-secs 1 \
  --feed-processing-secs 1 >"$out" 2>/dev/null &
server=$!
trap 'kill "$server" 2>/dev/null || true; rm -f "$out"' EXIT
url=""
for _ in $(seq 300); do
  url="$(head -1 "$out" | grep '^http://' || true)"
  [ -n "$url" ] && break
  kill -0 "$server" 2>/dev/null || { log "spapi-sandbox exited"; exit 1; }
  sleep 0.1
done
[ -n "$url" ] || { log "spapi-sandbox did not start"; exit 1; }
case "$url" in http://127.*) ;; *) log "refusing $url: only a loopback sandbox"; exit 2 ;; esac

# A seller with a report, a feed and their documents, so ids in requests can exist.
eval "$(python3 - "$url" <<'PY'
import json, sys, time, urllib.request
base = sys.argv[1]
def call(method, path, body=None, headers=None, raw=None):
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    req = urllib.request.Request(base + path, data=data, method=method, headers=headers or {})
    if body is not None and raw is None:
        req.add_header("content-type", "application/json")
    with urllib.request.urlopen(req) as r:
        text = r.read()
        return json.loads(text) if text else {}
info = call("GET", "/_sandbox")
marketplaces = ["ATVPDKIKX0DER", "A2EUQ1WTGCTBG2"]
seller = call("POST", "/_sandbox/sellers", {"seed": 15, "marketplaceIds": marketplaces, "orders": 60})
form = "grant_type=refresh_token&refresh_token=%s&client_id=%s&client_secret=%s" % (
    urllib.parse.quote(seller["refreshToken"]), info["clientId"], info["clientSecret"])
lwa = info["lwaUrl"].replace(base, "")
token = call("POST", lwa, raw=form.encode(), headers={"content-type": "application/x-www-form-urlencoded"})["access_token"]
auth = {"x-amz-access-token": token}
now = time.time()
report = call("POST", "/reports/2021-06-30/reports", {"reportType": "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_LAST_UPDATE_GENERAL",
              "marketplaceIds": marketplaces[:1]}, auth)["reportId"]
doc = call("POST", "/feeds/2021-06-30/documents", {"contentType": "application/json; charset=UTF-8"}, auth)
feed_body = json.dumps({"header": {"sellerId": seller["sellerId"], "version": "2.0"}, "messages": [
    {"messageId": 1, "sku": "CONFORMANCE-1", "operationType": "DELETE"}]}).encode()
urllib.request.urlopen(urllib.request.Request(doc["url"], data=feed_body, method="PUT",
                       headers={"content-type": "application/json; charset=UTF-8"}))
feed = call("POST", "/feeds/2021-06-30/feeds", {"feedType": "JSON_LISTINGS_FEED", "marketplaceIds": marketplaces[:1],
            "inputFeedDocumentId": doc["feedDocumentId"]}, auth)["feedId"]
for _ in range(100):
    r = call("GET", "/reports/2021-06-30/reports/" + report, headers=auth)
    f = call("GET", "/feeds/2021-06-30/feeds/" + feed, headers=auth)
    if r.get("reportDocumentId") and f.get("resultFeedDocumentId"):
        break
    time.sleep(0.2)
orders = call("GET", "/_sandbox/sellers/%s/orders?visible=true" % seller["sellerId"])
print("export CONFORMANCE_ORDER_ID=%s" % (orders[0]["amazonOrderId"] if orders else ""))
print("export CONFORMANCE_TOKEN=%s" % json.dumps(token))
# The Application Management API is grantless: its token comes from the client_credentials grant.
grantless = "grant_type=client_credentials&scope=%s&client_id=%s&client_secret=%s" % (
    urllib.parse.quote("sellingpartnerapi::client_credential:rotation"), info["clientId"], info["clientSecret"])
print("export CONFORMANCE_GRANTLESS_TOKEN=%s" % json.dumps(call(
    "POST", lwa, raw=grantless.encode(), headers={"content-type": "application/x-www-form-urlencoded"})["access_token"]))
# The Notifications API's destinations and subscriptions by id are grantless too, with their own scope; a
# destination and an ORDER_CHANGE subscription exist so that ids in requests can.
grantless = "grant_type=client_credentials&scope=%s&client_id=%s&client_secret=%s" % (
    urllib.parse.quote("sellingpartnerapi::notifications"), info["clientId"], info["clientSecret"])
notifications_token = call(
    "POST", lwa, raw=grantless.encode(), headers={"content-type": "application/x-www-form-urlencoded"})["access_token"]
destination = call("POST", "/notifications/v1/destinations",
                   {"name": "conformance", "resourceSpecification": {"sqs": {
                       "arn": "arn:aws:sqs:us-east-1:123456789012:conformance"}}},
                   {"x-amz-access-token": notifications_token})["payload"]["destinationId"]
subscription = call("POST", "/notifications/v1/subscriptions/ORDER_CHANGE",
                    {"payloadVersion": "1.0", "destinationId": destination,
                     "processingDirective": {"eventFilter": {"eventFilterType": "ORDER_CHANGE"}}},
                    auth)["payload"]["subscriptionId"]
print("export CONFORMANCE_NOTIFICATIONS_TOKEN=%s" % json.dumps(notifications_token))
print("export CONFORMANCE_DESTINATION_ID=%s" % destination)
print("export CONFORMANCE_SUBSCRIPTION_ID=%s" % subscription)
print("export CONFORMANCE_MARKETPLACES=%s" % ",".join(marketplaces))
print("export CONFORMANCE_REPORT_ID=%s" % report)
print("export CONFORMANCE_REPORT_DOCUMENT_ID=%s" % r.get("reportDocumentId", ""))
print("export CONFORMANCE_FEED_ID=%s" % feed)
print("export CONFORMANCE_FEED_DOCUMENT_ID=%s" % f.get("resultFeedDocumentId", doc["feedDocumentId"]))
PY
)"

log "testing $url against Amazon's reports, feeds, orders, sellers, application management and notifications models"
export PYTHONPATH="$root/tests/conformance"
export SCHEMATHESIS_HOOKS=hooks
cd "$root/.local"
grantless_paths='^/notifications/v1/(destinations|subscriptions/\{notificationType\}/\{subscriptionId\})'
status=0
for model in ${CONFORMANCE_MODELS:-reports-api-model/reports_2021-06-30.json feeds-api-model/feeds_2021-06-30.json \
    orders-api-model/orders_2026-01-01.json sellers-api-model/sellers.json \
    application-management-api-model/application_2023-11-30.json \
    notifications-api-model/notifications.json}; do
  token="$CONFORMANCE_TOKEN"
  filters=()
  case "$model" in
    application-management-*) token="$CONFORMANCE_GRANTLESS_TOKEN" ;;
    # Destinations and subscriptions by id are grantless (the model's descriptions): the application's token
    # for them, the seller's for the rest, in two runs.
    notifications-*) filters=(--exclude-path-regex "$grantless_paths") ;;
  esac
  "$venv/bin/st" run "$models/$model" \
    --url "$url" \
    --header "x-amz-access-token: $token" \
    --checks not_a_server_error,status_code_conformance,response_schema_conformance \
    --workers 1 \
    --max-time "${CONFORMANCE_MAX_TIME:-600}" \
    --no-color \
    "${filters[@]}" \
    "$@" || status=1
  case "$model" in notifications-*)
    "$venv/bin/st" run "$models/$model" \
      --url "$url" \
      --header "x-amz-access-token: $CONFORMANCE_NOTIFICATIONS_TOKEN" \
      --checks not_a_server_error,status_code_conformance,response_schema_conformance \
      --workers 1 \
      --max-time "${CONFORMANCE_MAX_TIME:-600}" \
      --no-color \
      --include-path-regex "$grantless_paths" \
      "$@" || status=1
  esac
done
exit $status
