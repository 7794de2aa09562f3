"""The health-record store: header reading, normalizers, the versioned store, access rules, the
longitudinal query, the processing stage and the records SOAP service."""
