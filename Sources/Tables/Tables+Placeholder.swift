// Placeholder so the target builds before its first real file lands; delete when adding code.
enum TablesPlaceholder {}
