// Placeholder: replaced by the linearizability checker's command.
enum CheckHistoryCommand {
    static func run(_ arguments: [String]) -> Int32 {
        print("kura-sim check-history: not built yet")
        return 2
    }
}
