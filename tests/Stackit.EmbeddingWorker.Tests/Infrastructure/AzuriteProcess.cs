using System.Diagnostics;
using System.Text;
using Azure.Storage.Queues;

namespace Stackit.EmbeddingWorker.Tests.Infrastructure;

/// <summary>
/// Azurite, the official Azure Storage emulator, for tests and benchmarks. Uses
/// <c>AZURITE_QUEUE_CONNECTION_STRING</c> or <c>AZURITE_QUEUE_ENDPOINT</c> when given; otherwise starts
/// <c>azurite-queue</c> on a free loopback port, installing the pinned version with npm into
/// <c>.tools/azurite</c> first if it is not on PATH. Flags as FACTS.md says: in-memory, telemetry off,
/// API-version check off (the SDK is newer than the emulator).
/// </summary>
public sealed class AzuriteProcess : IAsyncDisposable
{
    public const string Version = "3.35.0";

    // The emulator's published development account: not a secret.
    private const string DevAccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    private readonly StringBuilder _output = new();
    private Process? _process;

    public string ConnectionString { get; private set; } = "";

    public QueueClient Queue(string name) =>
        new(ConnectionString, name, new QueueClientOptions { MessageEncoding = QueueMessageEncoding.None });

    /// <summary>A queue name no other test uses.</summary>
    public static string UniqueQueueName(string prefix = "t") => $"{prefix}{Guid.NewGuid():N}"[..20];

    /// <summary>The emulator's process id when this instance started it (for measuring it), else null.</summary>
    public int? ProcessId => _process?.Id;

    public async ValueTask StartAsync()
    {
        if (Environment.GetEnvironmentVariable("AZURITE_QUEUE_CONNECTION_STRING") is { Length: > 0 } given)
        {
            ConnectionString = given;
            return;
        }
        if (Environment.GetEnvironmentVariable("AZURITE_QUEUE_ENDPOINT") is { Length: > 0 } endpoint)
        {
            ConnectionString = ForEndpoint(endpoint.TrimEnd('/'));
            return;
        }

        var executable = await LocateOrInstallAsync();
        var port = FreePort.OnLoopback();
        var start = new ProcessStartInfo(executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { "--queueHost", "127.0.0.1", "--queuePort", port.ToString(System.Globalization.CultureInfo.InvariantCulture),
                     "--inMemoryPersistence", "--skipApiVersionCheck", "--disableTelemetry", "--silent" })
        {
            start.ArgumentList.Add(arg);
        }
        _process = Process.Start(start) ?? throw new InvalidOperationException("azurite-queue did not start.");
        _process.OutputDataReceived += (_, e) => Append(e.Data);
        _process.ErrorDataReceived += (_, e) => Append(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();

        await FreePort.WaitUntilListeningAsync(port, TimeSpan.FromSeconds(60),
            () => _process.HasExited ? $"azurite-queue exited with {_process.ExitCode}: {Output()}" : null);
        ConnectionString = ForEndpoint($"http://127.0.0.1:{port}/devstoreaccount1");
    }

    public async ValueTask DisposeAsync()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process?.Dispose();
    }

    private static string ForEndpoint(string queueEndpoint) =>
        $"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={DevAccountKey};QueueEndpoint={queueEndpoint};";

    private static async Task<string> LocateOrInstallAsync()
    {
        var onPath = (Environment.GetEnvironmentVariable("PATH") ?? "")
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, "azurite-queue"))
            .FirstOrDefault(File.Exists);
        if (onPath is not null)
        {
            return onPath;
        }

        var prefix = Path.Combine(RepositoryPaths.Root, ".tools", "azurite");
        var local = Path.Combine(prefix, "node_modules", ".bin", "azurite-queue");
        if (File.Exists(local))
        {
            return local;
        }

        Directory.CreateDirectory(prefix);
        var install = new ProcessStartInfo("npm")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { "install", "--prefix", prefix, "--no-save", "--no-audit", "--no-fund", $"azurite@{Version}" })
        {
            install.ArgumentList.Add(arg);
        }
        using var npm = Process.Start(install) ?? throw new InvalidOperationException("npm did not start; Node.js and npm are needed to run Azurite.");
        var stdout = npm.StandardOutput.ReadToEndAsync();
        var stderr = npm.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        await npm.WaitForExitAsync(timeout.Token);
        if (npm.ExitCode != 0 || !File.Exists(local))
        {
            throw new InvalidOperationException($"npm install azurite@{Version} failed ({npm.ExitCode}): {await stdout}{await stderr}");
        }
        return local;
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
