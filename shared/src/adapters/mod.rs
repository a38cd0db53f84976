//! Adapters: the ports implemented over AWS. The only modules that import `aws_sdk_*`.

pub mod dynamo;
