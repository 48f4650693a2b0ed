"""The Flask app of bench/ddtrace_compare.py: one order handler, served by gunicorn.

`GET /order/<id>` builds a few locals (a nested dict, a list of dicts, a secret-named string)
and answers JSON. The line marked `BENCH: hit` runs on every request; the one marked
`BENCH: never` sits in the same handler on a branch no request takes. `GET /pid` names the
worker process (the borescope instance the probes are checked against).
"""
import os

from flask import Flask, jsonify

app = Flask(__name__)


@app.route("/order/<int:order_id>")
def order(order_id):
    customer = {"id": order_id % 97, "name": "Ada Lovelace", "ship_to": {"city": "London", "zip": "W1"}}
    items = [{"sku": "A-%d" % n, "qty": n + 1, "price": 2.5 * (n + 1)} for n in range(3)]
    password = "hunter2-not-for-snapshots"
    total = sum(item["qty"] * item["price"] for item in items)
    if total < 0:
        refund = -total
        return jsonify(refund=refund)  # BENCH: never
    status = "paid" if len(password) > 4 else "open"
    return jsonify(id=order_id, customer=customer["name"], total=total, status=status)  # BENCH: hit


@app.route("/pid")
def pid():
    return jsonify(pid=os.getpid())
