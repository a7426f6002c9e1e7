"""The limits of the two input documents, shared by their parsers (messages) and models (schemas)."""

from __future__ import annotations

MAX_ENTRIES = 1000  # subscriptions or clusters in one POST /api/scan body
MAX_WAIT_CLUSTERS = 10  # running clusters an inline (wait) scan may cover
MAX_BODY_BYTES = 256 * 1024
# An Azure Storage queue message is at most 64 KiB (Azure Queue Storage's limit), and the
# Functions queue extension base64-encodes what it writes by default (Azure/azure-sdk-for-net,
# sdk/storage/Microsoft.Azure.WebJobs.Extensions.Storage.Queues/CHANGELOG.md, 5.0.0-beta.2),
# which leaves 48 KiB of text for a message this app writes.
MAX_MESSAGE_BYTES = 64 * 1024
MESSAGE_VERSION = 1
JSON_MEDIA_TYPE = "application/json"
