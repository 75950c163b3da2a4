"""A small, documented price table for estimating LLM cost (USD per 1M tokens: input, cached input, output)."""

from __future__ import annotations

from .errors import ConfigError

# Public list prices at the time of writing; override with MOTIVECHECK_PRICES="model=in/out[,model=in/out]".
PRICES: dict[str, tuple[float, float, float]] = {
    "gpt-4o-mini": (0.15, 0.075, 0.60),
    "gpt-4o": (2.50, 1.25, 10.00),
    "gpt-4.1-mini": (0.40, 0.10, 1.60),
    "gpt-4.1": (2.00, 0.50, 8.00),
}


def price_table(overrides: str = "") -> dict[str, tuple[float, float, float]]:
    table = dict(PRICES)
    for item in filter(None, (p.strip() for p in overrides.split(","))):
        try:
            model, rates = item.split("=", 1)
            parts = [float(x) for x in rates.split("/")]
            inp, out = parts[0], parts[-1]
            cached = parts[1] if len(parts) == 3 else inp
        except ValueError:
            raise ConfigError(f"MOTIVECHECK_PRICES: cannot read {item!r}; use model=input/output") from None
        table[model.strip()] = (inp, cached, out)
    return table


def estimate_cost(model: str, prompt: int, cached: int, completion: int,
                  table: dict[str, tuple[float, float, float]]) -> float | None:
    """Estimated USD for the token counts, or None when the model has no price."""
    if model not in table:
        return None
    inp, cache, out = table[model]
    return ((prompt - cached) * inp + cached * cache + completion * out) / 1_000_000
