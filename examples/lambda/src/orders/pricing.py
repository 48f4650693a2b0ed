"""Order totals."""


def total(items, tax_rate):
    subtotal = sum(item["price"] * item["qty"] for item in items)
    return round(subtotal * (1 + tax_rate), 2)
