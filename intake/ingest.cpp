// Committing an uploaded batch (see ingest.h).
#include "ingest.h"

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <thread>

#include "shenbao/validate.h"

namespace shenbao::intake {
namespace {

Refusal db_refusal(const Error& e) {
    switch (e.code) {
        case ErrorCode::Busy: return {503, "busy", e.message};
        case ErrorCode::DiskFull: return {507, "disk-full", e.message};
        default: return {500, "internal", e.message};
    }
}

// The receipt's reason for an invalid record: the first issues, each naming its field.
std::string reason_of(const std::vector<Issue>& issues) {
    constexpr std::size_t kShown = 3;
    std::string out;
    for (std::size_t i = 0; i < issues.size() && i < kShown; ++i) {
        if (!out.empty()) out += "; ";
        out += issues[i].path + ": " + issues[i].message.zh + " / " + issues[i].message.en;
    }
    if (issues.size() > kShown) out += "; and " + std::to_string(issues.size() - kShown) + " more";
    return out;
}

// Decoded records on their way from the decoding thread to the validating one.
// Bounded, so decoding waits when validation falls behind.
class RecordPipe {
public:
    void push(DecodedRecord&& r) {
        std::unique_lock lock(mu_);
        room_.wait(lock, [&] { return queue_.size() < kDepth; });
        queue_.push_back(std::move(r));
        ready_.notify_one();
    }
    void close() {
        std::lock_guard lock(mu_);
        closed_ = true;
        ready_.notify_all();
    }
    // The next record; nullopt once closed and empty.
    std::optional<DecodedRecord> pop() {
        std::unique_lock lock(mu_);
        ready_.wait(lock, [&] { return !queue_.empty() || closed_; });
        if (queue_.empty()) return std::nullopt;
        DecodedRecord r = std::move(queue_.front());
        queue_.pop_front();
        room_.notify_one();
        return r;
    }

private:
    static constexpr std::size_t kDepth = 32;
    std::mutex mu_;
    std::condition_variable ready_, room_;
    std::deque<DecodedRecord> queue_;
    bool closed_ = false;
};

}  // namespace

std::uint64_t max_batch_file_bytes(const BatchLimits& limits) {
    const std::uint64_t header = kBatchFixedHeaderBytes + kBatchMaxForms * (1 + kBatchMaxFormIdBytes + 4 + 4);
    const std::uint64_t chunks = (limits.max_compressed_bytes + kBatchMinChunkSize - 1) / kBatchMinChunkSize;
    return header + kBatchSealedKeyBytes + kBatchStreamHeaderBytes + limits.max_compressed_bytes +
           chunks * kBatchChunkOverheadBytes + kBatchSignatureBytes;
}

int status_for_batch_error(BatchErrorKind kind) {
    switch (kind) {
        case BatchErrorKind::UnknownKiosk:
        case BatchErrorKind::BadSignature: return 403;
        case BatchErrorKind::TooLarge:
        case BatchErrorKind::TooManyRecords:
        case BatchErrorKind::RecordTooLarge: return 413;
        default: return 422;
    }
}

std::variant<std::shared_ptr<const FormDefinition>, std::string> FormCache::get(const std::string& form_id, int version) {
    std::lock_guard lock(mu_);
    auto it = forms_.find(form_id);
    if (it == forms_.end()) {
        auto loaded = load_form(bundled_form_path(form_id));
        std::variant<std::shared_ptr<const FormDefinition>, std::string> entry;
        if (loaded.ok()) entry = std::make_shared<const FormDefinition>(std::move(loaded.value()));
        else entry = "form " + form_id + " is not known at the commission (" + loaded.error().message +
                     "); install its definition in the intake's assets/forms/ and send the record again";
        it = forms_.emplace(form_id, std::move(entry)).first;
    }
    if (it->second.index() == 1) return it->second;
    const auto& form = std::get<0>(it->second);
    if (form->version != version)
        return "form " + form_id + " version " + std::to_string(version) + " is not the version the commission validates (" +
               std::to_string(form->version) + "); update the intake's assets/forms/" + form_id + ".json or the kiosk";
    return form;
}

std::variant<Committed, Refusal> Ingest::commit(const std::string& upload_id) {
    const auto started = std::chrono::steady_clock::now();
    auto found = db.upload(upload_id);
    if (!found.ok()) return db_refusal(found.error());
    if (!found.value())
        return Refusal{404, "unknown-upload", "no upload " + upload_id + " here (it expired, or never existed); upload the batch again"};
    const Upload u = *found.value();
    if (u.committed_ms) {
        auto receipt = db.receipt(u.batch_id);
        if (!receipt.ok()) return db_refusal(receipt.error());
        if (!receipt.value()) return Refusal{500, "internal", "upload " + upload_id + " is marked committed but batch " + u.batch_id + " has no receipt"};
        return Committed{*receipt.value(), false};
    }
    if (u.offset < u.length)
        return Refusal{409, "incomplete-upload", "upload " + upload_id + " holds " + std::to_string(u.offset) + " of its " +
                                                     std::to_string(u.length) + " bytes; send the rest (HEAD gives the offset), then commit"};
    auto mapped = MappedFile::open(files.path_of(upload_id), u.length);
    if (!mapped.ok()) return Refusal{500, "internal", mapped.error().message};
    const auto bytes = mapped.value().bytes();

    auto enrolled = [this](const KioskPublicKey& k) {
        auto r = db.kiosk(k.hex());
        return r.ok() && r.value().has_value();
    };
    auto refuse = [](const BatchError& e) {
        return Refusal{status_for_batch_error(e.kind), batch_error_name(e.kind), e.message};
    };
    auto header = peek_header(bytes, limits);
    if (!header.ok()) return refuse(header.error());
    const std::string kiosk_id = header->kiosk_id();
    if (!enrolled(header->kiosk))
        return Refusal{403, "unknown-kiosk", "batch " + header->batch_id + " is signed by kiosk " + kiosk_id +
                                                 ", which is not enrolled here; enrol it with `shenbao-intake enrol --kiosk-key " +
                                                 kiosk_id + " --district <name>`, then upload the batch again"};
    if (kiosk_id != u.kiosk_id || header->batch_id != u.batch_id)
        return Refusal{422, "mismatch", "upload " + upload_id + " was created for batch " + u.batch_id + " from kiosk " +
                                            u.kiosk_id.substr(0, 16) + "…, but the file holds batch " + header->batch_id +
                                            " from kiosk " + kiosk_id.substr(0, 16) + "…; create the upload with the batch's own ids"};
    if (auto owner = db.batch_owner(u.batch_id); !owner.ok()) return db_refusal(owner.error());
    else if (owner.value() && *owner.value() != kiosk_id)
        return Refusal{409, "batch-id-conflict", "batch id " + u.batch_id + " was already committed by another kiosk; batch ids are never reused"};

    // The batch's transaction opens first; decoding (this thread) and validation +
    // storing (a second one) overlap: each record is validated and inserted as soon
    // as it is decoded, so the parsed JSON of a few records is alive, not the whole
    // batch's, and little is left to do once the last record is decoded. The batch
    // is only good when decoding ends well (its counts and plaintext hash come
    // last): any refusal before finish() rolls the whole transaction back.
    auto begun = db.begin_batch(upload_id, u.batch_id, kiosk_id);
    if (!begun.ok()) {
        if (begun.error().code == ErrorCode::InvalidArgument) return Refusal{409, "batch-id-conflict", begun.error().message};
        return db_refusal(begun.error());
    }
    BatchWriter& writer = *begun.value();
    std::optional<Error> store_error;  // the first, set by the validator only
    RecordPipe pipe;
    std::thread validator([&] {
        while (auto d = pipe.pop()) {
            if (writer.replay() || store_error) continue;  // decoding still has to finish: drain the pipe
            const Record* r = &d->record;
            // The district's decision rides along as the decoder checked it; the data is stored as the
            // decoder's canonical text, the bytes content_hash covers.
            IncomingRecord in{r->meta.id, r->meta.form_id, r->meta.form_version, r->meta.content_hash, r->meta.submitted_ms,
                              std::move(d->canonical_data), "", r->review};
            try {
                auto form = forms.get(r->meta.form_id, r->meta.form_version);
                if (form.index() == 1) {
                    in.invalid = std::get<1>(form);
                } else {
                    std::vector<Issue> issues = validate_record(*std::get<0>(form), r->data);
                    if (!issues.empty()) in.invalid = reason_of(issues);
                }
            } catch (const std::exception& e) {
                in.invalid = std::string("the record could not be validated: ") + e.what();
            }
            if (Status st = writer.add(in); !st.ok()) store_error = st.error();
        }
    });
    struct Finish {  // the validator ends and is joined on every way out, exceptions included
        RecordPipe& pipe;
        std::thread& thread;
        void operator()() {
            pipe.close();
            if (thread.joinable()) thread.join();
        }
        ~Finish() { (*this)(); }
    } finish{pipe, validator};
    auto decoded = decode_batch_each(bytes, enrolled, commission, dictionaries, limits, [&](DecodedRecord&& r) { pipe.push(std::move(r)); });
    finish();
    if (!decoded.ok()) return refuse(decoded.error());
    if (store_error) return db_refusal(*store_error);
    const auto t_decoded = std::chrono::steady_clock::now();

    auto stored = writer.finish([this](const Receipt& r) { return sign_receipt(r, receipt_key); });
    if (!stored.ok()) return db_refusal(stored.error());
    files.remove(upload_id);
    auto ms_between = [](auto a, auto b) { return std::chrono::duration<double, std::milli>(b - a).count(); };
    const auto finished = std::chrono::steady_clock::now();
    const double ms = ms_between(started, finished);
    const Receipt& rc = stored->parsed;
    if (stored->replay)
        std::fprintf(stderr, "shenbao-intake: batch %s from kiosk %.16s… committed before: receipt sent again (%.0f ms)\n",
                     u.batch_id.c_str(), kiosk_id.c_str(), ms);
    else
        std::fprintf(stderr,
                     "shenbao-intake: batch %s from kiosk %.16s…: %zu records: %zu accepted, %zu duplicate, %zu conflict, "
                     "%zu invalid (%.0f ms: decode + validate + insert %.0f, commit %.0f; %llu bytes)\n",
                     u.batch_id.c_str(), kiosk_id.c_str(), rc.records.size(), rc.count(ReceiptOutcome::Accepted),
                     rc.count(ReceiptOutcome::Duplicate), rc.count(ReceiptOutcome::Conflict), rc.count(ReceiptOutcome::Invalid), ms,
                     ms_between(started, t_decoded), ms_between(t_decoded, finished),
                     static_cast<unsigned long long>(u.length));
    return Committed{std::move(stored->receipt), stored->replay};
}

}  // namespace shenbao::intake
