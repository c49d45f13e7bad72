"""ibov on AWS: S3, Lambda, Glue, Athena and the CloudFormation stack that ties them together.

Every module here imports boto3 lazily (inside functions or under ``TYPE_CHECKING``), so importing the
package stays cheap. The entry points are :class:`ibovcli.aws.engine.AwsEngine` (the pipeline's engine)
and :mod:`ibovcli.aws.deploy` (``ibov deploy`` / ``ibov destroy``).
"""
