"""Fixtures of the vision model tests: tiny configs with seeded weights, made once per
session, and `ptirc` run in-process."""

import os

import pytest

import ptir.cli
from ptir.models import get_model

VISION = ("resnet34", "mobilenet_v2")


class TinyModel:
    """A tiny family config with seeded weights, its ptir module and the torch reference."""

    def __init__(self, name: str, seed: int = 0):
        self.family = get_model(name)
        self.config = self.family.config("tiny")
        self.weights = self.family.random_weights(self.config, seed)
        self.module = self.family.bind(self.config, self.weights)
        self.torch = self.family.torch_module(self.config, self.weights)
        (self.x,) = self.family.example_inputs(self.config, seed=1, batch=2)


@pytest.fixture(scope="session")
def tiny_models():
    return {name: TinyModel(name) for name in VISION}


@pytest.fixture(scope="session")
def tiny_weights(tmp_path_factory, tiny_models):
    """name -> a safetensors file of that tiny model, written by `ptirc export`."""
    d = tmp_path_factory.mktemp("weights")
    paths = {}
    for name in VISION:
        paths[name] = str(d / f"{name}.safetensors")
        assert ptir.cli.main(["export", "--model", name, "--size", "tiny", "-o", paths[name]]) == 0
    return paths


@pytest.fixture
def ptirc(capsys):
    """ptirc(*argv) -> (exit code, stdout, stderr), run in this process."""
    def run(*argv):
        code = ptir.cli.main([str(a) for a in argv])
        out, err = capsys.readouterr()
        return code, out, err
    return run


@pytest.fixture
def cwd_tmp(tmp_path):
    old = os.getcwd()
    os.chdir(tmp_path)
    yield tmp_path
    os.chdir(old)
