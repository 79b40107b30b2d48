"""ptir.nn: modules with torch's parameter names; tracing one makes each weight a
`ptir.param` argument named by its state_dict key.

    model = ptir.nn.Linear(8, 16)
    model.load_state_dict(torch_linear.state_dict())
    f = ptir.compile(model, ptir.spec((4, 8)), target="ref")     # weights bound by name
"""

from .layers import (
    GELU,
    BatchNorm2d,
    CausalSelfAttention,
    Conv2d,
    Embedding,
    FeedForward,
    LayerNorm,
    Linear,
    ReLU,
    RMSNorm,
    SiLU,
)
from .module import Module, ModuleList, Parameter, Sequential, StateDictError, manual_seed
from .quantize import quantize_weights

__all__ = ["Module", "Sequential", "ModuleList", "Parameter", "StateDictError", "manual_seed",
           "Linear", "LayerNorm", "RMSNorm", "Embedding", "Conv2d", "BatchNorm2d", "FeedForward",
           "CausalSelfAttention", "ReLU", "GELU", "SiLU", "quantize_weights"]
