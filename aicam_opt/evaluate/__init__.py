"""Quality measurement: fidelity to the expert (PSNR, SSIM, CIEDE2000), student-vs-teacher fidelity,
and temporal flicker on a real clip."""
