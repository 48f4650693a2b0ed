"""orders-api: price an order from an API Gateway event."""

import json
import os

from orders.pricing import total


def create_order(event, context):
    order = json.loads(event["body"])
    tax_rate = float(os.environ["TAX_RATE"])
    amount = total(order["items"], tax_rate)
    return {
        "statusCode": 201,
        "headers": {"content-type": "application/json"},
        "body": json.dumps({"customer": order["customer"], "total": amount, "stage": os.environ["STAGE"],
                            "request_id": context.aws_request_id}),
    }
