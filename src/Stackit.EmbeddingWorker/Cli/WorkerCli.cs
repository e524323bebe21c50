using System.CommandLine;

namespace Stackit.EmbeddingWorker.Cli;

/// <summary>
/// The helper commands of the worker's executable. Without one of them the executable runs the worker.
/// They read the same settings as the worker (appsettings.json, the environment), so
/// <c>Queue__ConnectionString=… dotnet Stackit.EmbeddingWorker.dll status</c> looks at what the worker sees.
/// </summary>
public static class WorkerCli
{
    private static readonly string[] CommandNames = ["enqueue", "poison", "status", "backfill", "search", "--help", "-h", "-?"];

    public static bool Handles(IReadOnlyList<string> args) => args.Count > 0 && CommandNames.Contains(args[0], StringComparer.Ordinal);

    public static async Task<int> RunAsync(IReadOnlyList<string> args, IConfiguration configuration, TextReader input, TextWriter output, TextWriter error, CancellationToken cancellationToken = default)
    {
        // Figures read the same on every machine (1,234.5), whatever its locale; async, so the caller's culture is kept.
        System.Globalization.CultureInfo.CurrentCulture = System.Globalization.CultureInfo.InvariantCulture;
        CliContext Context() => new(configuration, input, output, error);
        var root = new RootCommand("Stackit.EmbeddingWorker: run without a command to start the worker, or use a helper command.")
        {
            EnqueueCommand.Create(Context),
            PoisonCommands.Create(Context),
            StatusCommand.Create(Context),
            BackfillCommand.Create(Context),
            SearchCommand.Create(Context),
        };
        try
        {
            return await root.Parse(args).InvokeAsync(new InvocationConfiguration { Output = output, Error = error, EnableDefaultExceptionHandler = false }, cancellationToken).ConfigureAwait(false);
        }
        catch (Microsoft.Extensions.Options.OptionsValidationException ex)
        {
            // The settings a command needs are checked as the worker checks them at start, and said the same way.
            Configuration.ConfigurationCheck.Print(Configuration.ConfigurationCheck.Failures(ex), error);
            return Configuration.ConfigurationCheck.ExitCode;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // As System.CommandLine's own handler did: the error, and exit code 1.
            await error.WriteLineAsync($"Unhandled exception: {ex}").ConfigureAwait(false);
            return 1;
        }
    }
}
