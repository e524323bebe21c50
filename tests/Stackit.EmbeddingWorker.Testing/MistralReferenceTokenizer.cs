using System.Diagnostics;
using System.Text.Json;

namespace Stackit.EmbeddingWorker.Testing;

/// <summary>
/// Exact token counts of Mistral-7B's tokenizer (the one of intfloat/e5-mistral-7b-instruct, the default model), from
/// the npm package <c>mistral-tokenizer-js</c> (MIT; installed into <c>.tools/</c> on first use and run by Node.js in
/// one process for all the calls of an instance), so estimates can be checked against real counts. A count includes
/// the begin-of-sequence marker the model adds, as the endpoint's <c>usage</c> does.
/// </summary>
public sealed class MistralReferenceTokenizer : IAsyncDisposable
{
    public const string Package = "mistral-tokenizer-js";
    public const string Version = "1.0.0";

    /// <summary>The package's one source file (its vocabulary and merges included), relative to the install directory.</summary>
    public const string Script = "node_modules/mistral-tokenizer-js/mistral-tokenizer.js";

    // Each line in: a JSON array of texts; each line out: their counts, as a JSON array.
    private const string CountScript = """
        import tokenizer from './node_modules/mistral-tokenizer-js/mistral-tokenizer.js';
        import readline from 'node:readline';
        const lines = readline.createInterface({ input: process.stdin });
        lines.on('line', line => process.stdout.write(JSON.stringify(JSON.parse(line).map(text => tokenizer.encode(text).length)) + '\n'));
        """;

    private readonly Process _node;

    private MistralReferenceTokenizer(Process node) => _node = node;

    public static async Task<MistralReferenceTokenizer> StartAsync()
    {
        var prefix = await NpmTools.InstallAsync(Package, Version, Script);
        var script = Path.Combine(prefix, "count.mjs");
        if (!File.Exists(script) || await File.ReadAllTextAsync(script) != CountScript)
        {
            await File.WriteAllTextAsync(script, CountScript);
        }
        var start = new ProcessStartInfo("node")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
            WorkingDirectory = prefix,
            StandardInputEncoding = new System.Text.UTF8Encoding(false),
            StandardOutputEncoding = System.Text.Encoding.UTF8,
        };
        start.ArgumentList.Add(script);
        return new MistralReferenceTokenizer(Process.Start(start) ?? throw new InvalidOperationException("node did not start."));
    }

    /// <summary>The count of each text, in order.</summary>
    public async Task<int[]> CountAsync(IReadOnlyList<string> texts)
    {
        await _node.StandardInput.WriteLineAsync(JsonSerializer.Serialize(texts));
        await _node.StandardInput.FlushAsync();
        var line = await _node.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromMinutes(1))
            ?? throw new InvalidOperationException($"the reference tokenizer stopped (exit code {(_node.HasExited ? _node.ExitCode : -1)}).");
        return JsonSerializer.Deserialize<int[]>(line) ?? throw new InvalidOperationException("the reference tokenizer answered nothing.");
    }

    public async ValueTask DisposeAsync()
    {
        _node.StandardInput.Close();
        if (!await Task.Run(() => _node.WaitForExit(5_000)))
        {
            _node.Kill();
        }
        _node.Dispose();
    }
}
