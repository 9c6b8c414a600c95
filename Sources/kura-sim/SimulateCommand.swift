// Placeholder: replaced by the simulator's command.
enum SimulateCommand {
    static func run(_ arguments: [String]) -> Int32 {
        print("kura-sim: simulator not built yet")
        return 2
    }
}
