"""Helpers of ``scripts/bench.py``: a stubbed DynamoDB, API Gateway events, the bare
baseline app and the child processes the benchmark measures. Not part of the service."""
