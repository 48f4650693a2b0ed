"""A small order-processing script used by the README's first command and the tests."""

from dataclasses import dataclass


@dataclass
class Order:
    item: str
    quantity: int
    price: float


def process_orders(orders):
    total = 0.0
    for order in orders:
        subtotal = order.quantity * order.price
        total += subtotal
    return round(total, 2)


def main():
    orders = [Order("widget", 3, 9.99), Order("gadget", 1, 24.5), Order("gizmo", 2, 4.25)]
    print("processing", len(orders), "orders")
    total = process_orders(orders)
    print("total", total)


if __name__ == "__main__":
    main()
