"""challenger: auditor, disputer and juror bots."""
