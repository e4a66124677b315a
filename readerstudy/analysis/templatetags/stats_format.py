from django import template

register = template.Library()


@register.filter
def auc(value):
    """An AUC or difference to 4 decimals; an em dash when undefined."""
    if value is None:
        return "—"
    return f"{value:.4f}"


@register.filter
def ci(interval):
    if not interval or interval[0] is None:
        return "—"
    return f"[{interval[0]:.4f}, {interval[1]:.4f}]"


@register.filter
def pvalue(value):
    if value is None:
        return "—"
    return "< 0.0001" if value < 1e-4 else f"{value:.4f}"


@register.filter
def get(mapping, key):
    return (mapping or {}).get(key)
