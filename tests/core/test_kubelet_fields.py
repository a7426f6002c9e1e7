"""The kubelet field registry: every control reads exactly the configz paths it declares."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from shared.core.controls import Control
from shared.core.controls import kubelet_fields as kf
from shared.core.controls.registry import benchmark_names, get_benchmark
from shared.core.errors import FieldTypeError
from shared.core.model import Policy

ALL_CONTROLS: list[tuple[str, Control]] = [
    (name, control) for name in benchmark_names() for control in get_benchmark(name).node_controls
]
CONTROLS = [pytest.param(control, id=f"{name}:{control.id}") for name, control in ALL_CONTROLS]
DECLARED = {path for _, control in ALL_CONTROLS for path in control.paths}
#: Per kind, a value to put in a config and another valid one to change it to.
SAMPLES: dict[kf.Kind, tuple[Any, Any]] = {
    kf.Kind.BOOL: (True, False),
    kf.Kind.INT: (7, 0),
    kf.Kind.STRING: ("/etc/kubernetes/certs/ca.crt", ""),
    kf.Kind.DURATION: ("5m0s", "0s"),
    kf.Kind.STRING_LIST: (["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"], ["TLS_RSA_WITH_RC4_128_SHA"]),
}


class Recording(Mapping[str, Any]):
    """A nested configz mapping that records the dotted path of every leaf a check reads."""

    def __init__(self, data: Mapping[str, Any], seen: set[str], prefix: str = "") -> None:
        self._data, self._seen, self._prefix = data, seen, prefix

    def __getitem__(self, key: str) -> Any:
        value = self._data[key]
        path = self._prefix + key
        if isinstance(value, Mapping):
            return Recording(value, self._seen, path + ".")
        self._seen.add(path)
        return value

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def get(self, key: str, default: Any = None) -> Any:
        return self[key] if key in self._data else default


def config_with(values: Mapping[kf.KubeletField, Any]) -> dict[str, Any]:
    """A kubeletconfig holding ``values`` at their dotted paths."""
    config: dict[str, Any] = {}
    for field, value in values.items():
        node = config
        *parents, leaf = field.path.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return config


def every_field(overrides: Mapping[kf.KubeletField, Any] | None = None) -> dict[str, Any]:
    values = {field: SAMPLES[field.kind][0] for field in kf.FIELDS}
    values.update(overrides or {})
    return config_with(values)


class TestRegistry:
    def test_every_declared_path_is_a_registered_field(self) -> None:
        """No control declares a path the registry does not document."""
        assert {field.path for field in kf.FIELDS} >= DECLARED

    def test_every_registered_field_is_read_by_some_control(self) -> None:
        """The registry documents nothing that no control reads."""
        assert {field.path for field in kf.FIELDS} == DECLARED

    @pytest.mark.parametrize("field", kf.FIELDS, ids=lambda f: f.path)
    def test_default_is_of_the_fields_kind(self, field: kf.KubeletField) -> None:
        """An absent field reads as its default, without a type error."""
        if field.kind is kf.Kind.DURATION:
            observed, _ = kf.read_duration({}, field)
        else:
            observed = kf.read({}, field)
        assert (observed.value, observed.present) == (field.default, False)

    @pytest.mark.parametrize("field", kf.FIELDS, ids=lambda f: f.path)
    def test_wrong_type_is_a_field_type_error(self, field: kf.KubeletField) -> None:
        """A value of another JSON type is refused, never coerced."""
        wrong = {"a": "b"} if field.kind is not kf.Kind.STRING else 5
        config = config_with({field: wrong})
        reader = kf.read_duration if field.kind is kf.Kind.DURATION else kf.read
        with pytest.raises(FieldTypeError):
            reader(config, field)

    def test_duration_fields_are_read_only_as_durations(self) -> None:
        """read refuses a duration field and read_duration every other kind."""
        with pytest.raises(ValueError, match="duration"):
            kf.read({}, kf.STREAMING_IDLE_TIMEOUT)
        with pytest.raises(ValueError, match="not a duration"):
            kf.read_duration({}, kf.READ_ONLY_PORT)


class TestControlsReadTheirDeclaredPaths:
    @pytest.mark.parametrize("control", CONTROLS)
    def test_keys_read_equal_the_declared_paths(self, control: Control) -> None:
        """With every field present, the check reads exactly its declared paths."""
        seen: set[str] = set()
        control.check(Recording(every_field(), seen), Policy())
        assert seen == set(control.paths)

    @pytest.mark.parametrize("control", CONTROLS)
    def test_fields_outside_the_declared_paths_never_change_the_outcome(
        self, control: Control
    ) -> None:
        """Changing any other field leaves the outcome as it was (a memo on the paths is safe)."""
        baseline = control.check(every_field(), Policy())
        for field in kf.FIELDS:
            if field.path in control.paths:
                continue
            changed = every_field({field: SAMPLES[field.kind][1]})
            assert control.check(changed, Policy()) == baseline, field.path
