import numpy as np

import ptir
from ptir.dialect.registry import OPS
from ptir.lower_stablehlo import LOWERINGS, lower

from .runners import run_iree, run_xla


def test_every_op_has_a_rule():
    assert set(LOWERINGS) == set(OPS)


def test_mlp_example_matches_ref():
    import pathlib
    text = (pathlib.Path(__file__).parents[2] / "examples" / "mlp.ptir").read_text()
    prog = ptir.parse(text)
    rng = np.random.default_rng(0)
    args = [rng.standard_normal(a.value.type.shape).astype(np.float32) for a in prog.entry().args]
    fn = prog.entry()
    params = {a.param: x for a, x in zip(fn.args, args, strict=True) if a.param}
    want = ptir.compile(prog, "ref", params=params)(args[0])
    text = lower(prog).text
    np.testing.assert_allclose(run_xla(text, args)[0], want, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(run_iree(text, args)[0], want, rtol=1e-5, atol=1e-6)
