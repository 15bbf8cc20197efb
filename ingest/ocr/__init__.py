"""Reading text from pictures (scanned PDF pages, photos) by OCR, offline: the models ship
inside the rapidocr wheel, nothing is downloaded."""
