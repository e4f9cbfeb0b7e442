"""The CDK app's building blocks: stage settings, the slim Lambda package and the stack.

Named ``pairings_infra`` (not ``constructs``) so that it never shadows the ``constructs``
package the CDK itself imports.
"""
