"""The marshmallow schemas of the native API (the OpenAPI document is built from them)."""
