CREATE INDEX "documents_owner_idx" ON "documents" USING btree ("owner");
