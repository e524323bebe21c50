using Microsoft.Extensions.Options;

namespace Stackit.EmbeddingWorker.Backfill;

/// <summary>Checks <see cref="BackfillOptions"/> (its attributes and <c>Validate</c>): generated at build, no reflection at start.</summary>
[OptionsValidator]
internal sealed partial class BackfillOptionsValidator : IValidateOptions<BackfillOptions>;
