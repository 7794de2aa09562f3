"""The SOAP edge: the ASGI front, the gate middleware per service, the one submit path, the spyne
applications and Fault rendering. Domains declare their operations; this package serves them."""
