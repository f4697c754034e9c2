import { defineConfig } from 'vite';
import vue from '@vitejs/plugin-vue';

// The build goes to web/dist, which crates/server/build.rs embeds into the binary.
export default defineConfig({
  plugins: [vue()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    chunkSizeWarningLimit: 900,
  },
  server: { proxy: { '/api': 'http://127.0.0.1:8080' } },
  preview: { proxy: { '/api': process.env.SHULV_URL || 'http://127.0.0.1:8080' } },
});
