using Microsoft.Extensions.Options;

namespace Stackit.EmbeddingWorker.Intake;

/// <summary>Checks <see cref="BlobOptions"/> (its attributes and <c>Validate</c>): generated at build, no reflection at start.</summary>
[OptionsValidator]
internal sealed partial class BlobOptionsValidator : IValidateOptions<BlobOptions>;
