"""The JSON Schemas kubeconform validates against are made from OpenAPI documents and CRDs:
named as kubeconform looks them up, strict, and self-contained."""

from typing import Any

from daprshop import schemas


def test_file_names_follow_kubeconform_s_schema_location_template() -> None:
    assert schemas.file_name("apps/v1", "Deployment") == "deployment-apps-v1.json"
    assert schemas.file_name("v1", "Service") == "service-v1.json"
    assert schemas.file_name("dapr.io/v1alpha1", "Component") == "component-dapr-v1alpha1.json"
    assert (
        schemas.file_name("policy/v1", "PodDisruptionBudget")
        == "poddisruptionbudget-policy-v1.json"
    )


def test_strict_closes_objects_but_keeps_open_ones_open() -> None:
    out = schemas.strict(
        {
            "type": "object",
            "description": "dropped",
            "properties": {
                "port": {"x-kubernetes-int-or-string": True, "type": "string"},
                "note": {"type": "string", "nullable": True},
                "free": {
                    "type": "object",
                    "x-kubernetes-preserve-unknown-fields": True,
                    "properties": {"a": {"type": "string"}},
                },
                "labels": {"type": "object", "additionalProperties": {"type": "string"}},
            },
        }
    )
    assert out["additionalProperties"] is False
    assert "description" not in out
    props = out["properties"]
    assert props["port"] == {"anyOf": [{"type": "string"}, {"type": "integer"}]}
    assert props["note"] == {"type": ["string", "null"]}
    assert "additionalProperties" not in props["free"]
    assert props["labels"]["additionalProperties"] == {"type": "string"}


SWAGGER: dict[str, Any] = {
    "definitions": {
        "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta": {
            "type": "object",
            "properties": {"name": {"type": "string"}},
        },
        "io.k8s.apimachinery.pkg.util.intstr.IntOrString": {"type": "string"},
        "io.k8s.api.core.v1.ServicePort": {
            "type": "object",
            "properties": {
                "targetPort": {
                    "$ref": "#/definitions/io.k8s.apimachinery.pkg.util.intstr.IntOrString"
                }
            },
        },
        "io.k8s.api.core.v1.Service": {
            "type": "object",
            "x-kubernetes-group-version-kind": [{"group": "", "version": "v1", "kind": "Service"}],
            "properties": {
                "apiVersion": {"type": "string"},
                "kind": {"type": "string"},
                "metadata": {
                    "$ref": "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
                },
                "ports": {
                    "type": "array",
                    "items": {"$ref": "#/definitions/io.k8s.api.core.v1.ServicePort"},
                },
            },
        },
        "io.k8s.api.core.v1.Unrelated": {"type": "object", "properties": {"x": {"type": "string"}}},
    }
}


def test_a_kind_s_schema_embeds_exactly_the_definitions_it_reaches() -> None:
    made = schemas.kubernetes(SWAGGER)
    assert list(made) == ["service-v1.json"]
    service = made["service-v1.json"]
    assert service["properties"]["apiVersion"] == {"enum": ["v1"]}
    assert service["properties"]["kind"] == {"enum": ["Service"]}
    assert set(service["definitions"]) == {
        "io.k8s.api.core.v1.Service",
        "io.k8s.api.core.v1.ServicePort",
        "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta",
        "io.k8s.apimachinery.pkg.util.intstr.IntOrString",
    }
    int_or_string = service["definitions"]["io.k8s.apimachinery.pkg.util.intstr.IntOrString"]
    assert {"type": "integer"} in int_or_string["oneOf"]


def test_a_crd_version_becomes_a_strict_schema_with_object_meta() -> None:
    crd = {
        "kind": "CustomResourceDefinition",
        "spec": {
            "group": "dapr.io",
            "names": {"kind": "Component"},
            "versions": [
                {
                    "name": "v1alpha1",
                    "served": True,
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "properties": {
                                "apiVersion": {"type": "string"},
                                "kind": {"type": "string"},
                                "metadata": {"type": "object"},
                                "scopes": {"type": "array", "items": {"type": "string"}},
                            },
                        }
                    },
                },
                {"name": "v0", "served": False, "schema": {"openAPIV3Schema": {}}},
            ],
        },
    }
    made = schemas.custom_resources([crd], SWAGGER)
    assert list(made) == ["component-dapr-v1alpha1.json"]
    schema = made["component-dapr-v1alpha1.json"]
    assert schema["additionalProperties"] is False
    assert schema["required"] == ["apiVersion", "kind"]
    assert schema["properties"]["metadata"] == {
        "$ref": "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
    }
