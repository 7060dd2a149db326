"""The service's endpoints, one router per concern; :mod:`cryoprotect.service.app` joins them."""
