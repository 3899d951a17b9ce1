"""Government purchase of services: reports, acceptance, payment and evaluation."""
