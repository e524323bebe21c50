using System.CommandLine;
using System.Text;
using System.Text.Json;
using Stackit.EmbeddingWorker.Intake;

namespace Stackit.EmbeddingWorker.Cli;

/// <summary>
/// <c>enqueue [files…]</c>: one job per text file (id = file name, title = name without extension), or with no
/// files (or <c>-</c>) one job per line of standard input, each a job message in JSON. Every job is checked as
/// the worker will check it, and nothing is sent unless all are valid. A job too large for a queue message is
/// uploaded to the claim-check container (<c>Blobs:*</c>) and the message names its blob.
/// </summary>
internal static class EnqueueCommand
{
    /// <summary>Non-ASCII text stays as UTF-8 rather than <c>\uXXXX</c>, which would triple it against the queue's 64 KiB.</summary>
    private static readonly JsonSerializerOptions Relaxed = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static Command Create(Func<CliContext> context)
    {
        var files = new Argument<string[]>("files") { Description = "Text files to enqueue; none or '-' reads JSON job lines from standard input.", Arity = ArgumentArity.ZeroOrMore };
        var collection = new Option<string?>("--collection") { Description = "Collection for file jobs (must be allowed by Qdrant:AllowedCollections)." };
        var command = new Command("enqueue", "Put document jobs on the work queue.") { files, collection };
        command.SetAction((parse, cancellationToken) => RunAsync(context(), parse.GetValue(files) ?? [], parse.GetValue(collection), cancellationToken));
        return command;
    }

    private static async Task<int> RunAsync(CliContext context, string[] files, string? collection, CancellationToken cancellationToken)
    {
        var jobs = files.Length == 0 || files is ["-"]
            ? await ReadLinesAsync(context.Input, cancellationToken).ConfigureAwait(false)
            : files.Select(f => (Source: f, Body: FileJob(f, collection))).ToList();

        var parser = context.Parser();
        var checkedJobs = jobs.ConvertAll(j => j.Body is null ? new CheckedJob(j.Source, "", [], "cannot be read as UTF-8 text", null) : Check(parser, context.Blobs, j.Source, j.Body));
        var errors = checkedJobs.Where(j => j.Error is not null).ToList();
        foreach (var job in errors)
        {
            await context.Error.WriteLineAsync($"{job.Source}: {job.Error}").ConfigureAwait(false);
        }
        if (errors.Count > 0)
        {
            await context.Error.WriteLineAsync($"Nothing enqueued: {errors.Count} of {jobs.Count} jobs are invalid.").ConfigureAwait(false);
            return 1;
        }

        var queue = context.Queues.Live;
        await queue.CreateIfNotExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        var claimed = 0;
        foreach (var job in checkedJobs)
        {
            var message = job.Body;
            if (job.ClaimedId is { } id)
            {
                var blobUri = await context.ClaimChecks.UploadAsync($"{Guid.NewGuid():N}.json", new BinaryData(job.Bytes), cancellationToken).ConfigureAwait(false);
                message = JsonSerializer.Serialize(new { id, blobUri }, Relaxed);
                claimed++;
            }
            await queue.SendMessageAsync(message, cancellationToken).ConfigureAwait(false);
        }
        var viaBlobs = claimed == 0 ? "" : $" ({claimed} too large for a message, in container {context.ClaimChecks.ContainerName})";
        await context.Output.WriteLineAsync($"Enqueued {jobs.Count} jobs on queue {queue.Name}{viaBlobs}.").ConfigureAwait(false);
        return 0;
    }

    /// <summary>A job checked as the worker will check it; <see cref="ClaimedId"/> is set when it must go in a blob.</summary>
    private sealed record CheckedJob(string Source, string Body, byte[] Bytes, string? Error, string? ClaimedId);

    private static CheckedJob Check(JobMessageParser parser, BlobOptions blobs, string source, string body)
    {
        var bytes = Encoding.UTF8.GetBytes(body);
        if (bytes.Length > blobs.MaxBlobBytes)
        {
            return new CheckedJob(source, body, bytes, $"is {bytes.Length} bytes; Blobs:MaxBlobBytes is {blobs.MaxBlobBytes}.", null);
        }
        var large = bytes.Length > JobMessageParser.MaxMessageBytes;
        var result = large ? parser.ParseClaimed(bytes, null) : parser.Parse(bytes);
        return result switch
        {
            { IsValid: true } => new CheckedJob(source, body, bytes, null, large ? result.Job.Id : null),
            { IsClaimCheck: true } => new CheckedJob(source, body, bytes, null, null),
            _ => new CheckedJob(source, body, bytes, result.Error, null),
        };
    }

    private static async Task<List<(string Source, string? Body)>> ReadLinesAsync(TextReader input, CancellationToken cancellationToken)
    {
        var jobs = new List<(string, string?)>();
        var number = 0;
        while (await input.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } line)
        {
            number++;
            if (!string.IsNullOrWhiteSpace(line))
            {
                jobs.Add(($"line {number}", line.Trim()));
            }
        }
        return jobs;
    }

    private static string? FileJob(string path, string? collection)
    {
        string text;
        try
        {
            text = File.ReadAllText(path, new UTF8Encoding(false, throwOnInvalidBytes: true));
        }
        catch (Exception ex) when (ex is DecoderFallbackException or IOException or UnauthorizedAccessException)
        {
            return null;
        }
        var job = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["id"] = Path.GetFileName(path),
            ["title"] = Path.GetFileNameWithoutExtension(path),
            ["text"] = text,
        };
        if (collection is not null)
        {
            job["collection"] = collection;
        }
        return JsonSerializer.Serialize(job, Relaxed);
    }
}
