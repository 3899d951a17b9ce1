"""The volunteer's side of the records: /hours, the time bank, /certificate, /verify."""
