"""The contracts of tongket's data: the unit workbook layout, one pandera model per sheet
type, and the rule catalogue. Nothing here imports `tasks/` or `flows/`."""
