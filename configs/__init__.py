"""PTIR's shipped configuration: tolerance rules (conformance.json) and eval suites
(suites/*.json), installed as package data of `ptir.configs`."""

import os

DIR = os.path.dirname(os.path.abspath(__file__))
CONFORMANCE = os.path.join(DIR, "conformance.json")
SUITES = os.path.join(DIR, "suites")
