using System.Diagnostics;
using System.Text;
using Azure.Storage.Queues;

namespace Stackit.EmbeddingWorker.Testing;

/// <summary>
/// Azurite, the official Azure Storage emulator, for tests and benchmarks. Uses
/// <c>AZURITE_QUEUE_CONNECTION_STRING</c> (queue and blob endpoints) or <c>AZURITE_QUEUE_ENDPOINT</c> and
/// <c>AZURITE_BLOB_ENDPOINT</c> when given; otherwise starts <c>azurite-queue</c> and <c>azurite-blob</c> (blobs hold
/// claim-checked jobs) on free loopback ports, installing the pinned version with npm into
/// <c>.tools/azurite</c> first if it is not on PATH. Flags as FACTS.md says: in-memory, telemetry off,
/// API-version check off (the SDK is newer than the emulator).
/// </summary>
public sealed class AzuriteProcess : IAsyncDisposable
{
    public const string Version = "3.35.0";

    // The emulator's published development account: not a secret.
    internal const string DevAccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    private readonly StringBuilder _output = new();
    private readonly List<Process> _processes = [];

    public string ConnectionString { get; private set; } = "";

    public QueueClient Queue(string name) =>
        new(ConnectionString, name, new QueueClientOptions { MessageEncoding = QueueMessageEncoding.None });

    /// <summary>A queue name no other test uses.</summary>
    public static string UniqueQueueName(string prefix = "t") => $"{prefix}{Guid.NewGuid():N}"[..20];

    public async ValueTask StartAsync()
    {
        if (Environment.GetEnvironmentVariable("AZURITE_QUEUE_CONNECTION_STRING") is { Length: > 0 } given)
        {
            ConnectionString = given;
            return;
        }
        // One after the other: on a fresh machine the first installs Azurite, which the second then finds.
        var queueEndpoint = Environment.GetEnvironmentVariable("AZURITE_QUEUE_ENDPOINT") is { Length: > 0 } queueGiven
            ? queueGiven.TrimEnd('/')
            : await StartEmulatorAsync("azurite-queue", "--queueHost", "--queuePort");
        var blobEndpoint = Environment.GetEnvironmentVariable("AZURITE_BLOB_ENDPOINT") is { Length: > 0 } blobGiven
            ? blobGiven.TrimEnd('/')
            : await StartEmulatorAsync("azurite-blob", "--blobHost", "--blobPort");
        ConnectionString = ForEndpoints(queueEndpoint, blobEndpoint);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var process in _processes)
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
            }
            process.Dispose();
        }
    }

    /// <summary>Starts one Azurite service (queue or blob) on a free loopback port; returns its account endpoint.</summary>
    private async Task<string> StartEmulatorAsync(string command, string hostFlag, string portFlag)
    {
        var executable = await LocateOrInstallAsync(command);
        var port = FreePort.OnLoopback();
        var start = new ProcessStartInfo(executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { hostFlag, "127.0.0.1", portFlag, port.ToString(System.Globalization.CultureInfo.InvariantCulture),
                     "--inMemoryPersistence", "--skipApiVersionCheck", "--disableTelemetry", "--silent" })
        {
            start.ArgumentList.Add(arg);
        }
        var process = Process.Start(start) ?? throw new InvalidOperationException($"{command} did not start.");
        lock (_processes)
        {
            _processes.Add(process);
        }
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        await FreePort.WaitUntilListeningAsync(port, TimeSpan.FromSeconds(60),
            () => process.HasExited ? $"{command} exited with {process.ExitCode}: {Output()}" : null);
        return $"http://127.0.0.1:{port}/devstoreaccount1";
    }

    /// <summary>A connection string with the emulator's well-known account for these endpoints (any host and port).</summary>
    public static string ForEndpoints(string queueEndpoint, string blobEndpoint) =>
        $"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={DevAccountKey};QueueEndpoint={queueEndpoint};BlobEndpoint={blobEndpoint};";

    internal static async Task<string> LocateOrInstallAsync(string command)
    {
        var onPath = (Environment.GetEnvironmentVariable("PATH") ?? "")
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, command))
            .FirstOrDefault(File.Exists);
        if (onPath is not null)
        {
            return onPath;
        }

        var prefix = await NpmTools.InstallAsync("azurite", Version, Path.Combine("node_modules", ".bin", command));
        return Path.Combine(prefix, "node_modules", ".bin", command);
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }
        lock (_output)
        {
            _output.AppendLine(line);
        }
    }

    private string Output()
    {
        lock (_output)
        {
            return _output.ToString();
        }
    }
}
