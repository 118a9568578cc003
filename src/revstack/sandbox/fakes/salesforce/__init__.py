"""The fake Salesforce API (REST and Bulk API 2.0 queries) serving the sandbox world."""

from __future__ import annotations
