"""Applications: what a district submits. ``applications`` creates, edits, submits and withdraws
them and says who may see one; ``content`` turns a form's input into rows; ``checks`` holds the
submission rules and the budget totals; ``eligibility`` the window and the eligible schools;
``budget_workbook`` reads the uploaded budget spreadsheet; ``attachments`` stores the files;
``status`` is what the applicant sees (status label, published decision, reviewer comments)."""
